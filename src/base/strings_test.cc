#include "base/strings.h"

#include <gtest/gtest.h>

namespace fm::base {
namespace {

TEST(StringsTest, SplitKeepsEmptyFields) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

TEST(StringsTest, UrlEncodeRoundTrip) {
  EXPECT_EQ(UrlEncode("ge2021-01-01T00:00:00.000Z"), "ge2021-01-01T00%3A00%3A00.000Z");
  EXPECT_EQ(UrlDecode(UrlEncode("a b+c/d")), "a b+c/d");
}

TEST(StringsTest, RedactUrlHidesSasSignatureAndUserInfo) {
  EXPECT_EQ(RedactUrl("https://u:pw@acct.blob/c/f.ndjson?sv=2020&sig=abc%2F&se=x"),
            "https://acct.blob/c/f.ndjson?sv=2020&sig=REDACTED&se=x");
  EXPECT_EQ(RedactUrl("http://h/p?access_token=t"), "http://h/p?access_token=REDACTED");
  EXPECT_EQ(RedactUrl("http://h/p"), "http://h/p");
}

}  // namespace
}  // namespace fm::base
