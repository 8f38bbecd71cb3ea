#include "fhir/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fm::fhir {
namespace {

TEST(JsonTextTest, AppendJsonStringEscapesAndPredictsItsLength) {
  std::string every_byte;
  for (int c = 1; c < 256; ++c) every_byte += static_cast<char>(c);
  for (const std::string& text : {std::string(), std::string("plain"),
                                  std::string("q\"b\\s\n\t\x1f"), std::string("caf\xc3\xa9")}) {
    std::string out;
    AppendJsonString(out, text);
    EXPECT_EQ(out.size(), JsonStringLength(text));
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text);
  }
  std::string out;
  AppendJsonString(out, every_byte);  // not UTF-8: only the length is checked
  EXPECT_EQ(out.size(), JsonStringLength(every_byte));
}

TEST(JsonTextTest, QuoteTokenQuotesOnlyNames) {
  EXPECT_EQ(QuoteToken("OperationOutcome"), "\"OperationOutcome\"");
  EXPECT_EQ(QuoteToken("batch-response"), "\"batch-response\"");
  EXPECT_EQ(QuoteToken(""), "an unexpected value");
  EXPECT_EQ(QuoteToken("a b"), "an unexpected value");
  EXPECT_EQ(QuoteToken(std::string(65, 'a')), "an unexpected value");
}

TEST(JsonTextTest, ReservePaddingKeepsTheText) {
  std::string text = "abc";
  ReservePadding(text, 64);
  EXPECT_EQ(text, "abc");
  EXPECT_GE(text.capacity(), 67u);
}

TEST(JsonTextTest, NotAnObjectReasonLooksAtTheFirstByte) {
  EXPECT_EQ(NotAnObjectReason(" \n{"), "");
  EXPECT_EQ(NotAnObjectReason(" \r\n"), "empty body");
  EXPECT_EQ(NotAnObjectReason("<html>"), "not a JSON object");
}

TEST(JsonTextTest, HasTextAfterIgnoresWhitespace) {
  std::string_view text = "{} \n";
  EXPECT_FALSE(HasTextAfter(text, text.substr(0, 2)));
  std::string_view more = "{} x";
  EXPECT_TRUE(HasTextAfter(more, more.substr(0, 2)));
}

}  // namespace
}  // namespace fm::fhir
