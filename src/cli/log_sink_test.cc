#include "cli/log_sink.h"

#include <gtest/gtest.h>

#include "cli/progress_format.h"

namespace fm::cli {
namespace {

// The last line of a run said how much it copied but not in how long, so the
// mean rate of a run was nowhere to be read.
TEST(RunSummaryLine, GivesTheElapsedTimeAndTheMeanRate) {
  migrate::RunSummary s;
  s.windows_loaded = 10;
  s.resources_loaded = 20004;
  s.resources_failed = 3;
  s.watermark = base::ParseInstant("2024-06-01T11:58:00Z").value();
  EXPECT_EQ(RunSummaryLine(s, base::Millis(11'600)),
            "run finished in 11.6s: 10 windows, 20004 resources loaded (mean 1,724/s), 3 "
            "failed; watermark 2024-06-01T11:58:00.000Z");
  s.interrupted = true;
  s.watermark.reset();
  EXPECT_EQ(RunSummaryLine(s, base::Millis(125'000)),
            "run stopped after 2m5s: 10 windows, 20004 resources loaded (mean 160/s), 3 failed; "
            "watermark none");
}

TEST(ProgressFormat, CountsRatesAndDurations) {
  EXPECT_EQ(GroupDigits(0), "0");
  EXPECT_EQ(GroupDigits(999), "999");
  EXPECT_EQ(GroupDigits(1000), "1,000");
  EXPECT_EQ(GroupDigits(1234567), "1,234,567");
  EXPECT_EQ(FormatRate(0), "0/s");
  EXPECT_EQ(FormatRate(9.46), "9.5/s");
  EXPECT_EQ(FormatRate(1724.5), "1,725/s");
  EXPECT_EQ(FormatElapsed(base::Millis(400)), "0.4s");
  EXPECT_EQ(FormatElapsed(base::Millis(59'949)), "59.9s");
  EXPECT_EQ(FormatElapsed(base::Millis(3'723'000)), "1h2m3s");
  EXPECT_EQ(RatePerSecond(10, base::Millis(0)), 0);
}

}  // namespace
}  // namespace fm::cli
