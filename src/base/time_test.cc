#include "base/time.h"

#include <gtest/gtest.h>

namespace fm::base {
namespace {

TEST(TimeTest, ParsesInstantWithMillisAndZ) {
  auto t = ParseInstant("2021-03-04T05:06:07.123Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatInstant(*t), "2021-03-04T05:06:07.123Z");
}

TEST(TimeTest, NormalisesOffsetsAndTruncatesLongFractions) {
  auto t = ParseInstant("2021-07-16T06:46:52.3873388+02:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatInstant(*t), "2021-07-16T04:46:52.387Z");
}

TEST(TimeTest, PartialDatesMeanStartOfPeriod) {
  EXPECT_EQ(FormatInstant(*ParseInstant("2022")), "2022-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatInstant(*ParseInstant("2022-05")), "2022-05-01T00:00:00.000Z");
  EXPECT_EQ(FormatInstant(*ParseInstant("2022-05-07")), "2022-05-07T00:00:00.000Z");
  EXPECT_FALSE(ParseInstant("2022-05-07", /*allow_partial=*/false).ok());
}

TEST(TimeTest, RejectsGarbageAndMissingZone) {
  EXPECT_FALSE(ParseInstant("yesterday").ok());
  EXPECT_FALSE(ParseInstant("2021-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseInstant("2021-03-04T05:06:07").ok());
  EXPECT_EQ(ParseInstant("x").error().kind, ErrorKind::kInvalidData);
}

TEST(TimeTest, HttpDateRoundTrips) {
  auto t = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatInstant(*t), "1994-11-06T08:49:37.000Z");
  EXPECT_EQ(FormatHttpDate(*t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_FALSE(ParseHttpDate("120").has_value());
}

TEST(TimeTest, DurationsWithUnits) {
  EXPECT_EQ(ParseDuration("30d")->count(), 30LL * 86'400'000);
  EXPECT_EQ(ParseDuration("12h")->count(), 12LL * 3'600'000);
  EXPECT_EQ(ParseDuration("5m")->count(), 300'000);
  EXPECT_EQ(ParseDuration("90")->count(), 90'000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_FALSE(ParseDuration("5 fortnights").ok());
  EXPECT_FALSE(ParseDuration("-3s").ok());
  EXPECT_EQ(FormatDuration(Millis(90061000)), "1d1h1m1s");
}

// "999999999999999d" overflowed the multiplication (undefined behaviour).
TEST(TimeTest, ADurationTooLongForMillisecondsIsRefused) {
  auto d = ParseDuration("999999999999999d");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("too long"), std::string::npos) << d.error().message;
  EXPECT_TRUE(ParseDuration("106751991167d").ok());  // the longest that fits
}

}  // namespace
}  // namespace fm::base
