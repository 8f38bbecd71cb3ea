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

// `check` printed "source: http://user:pass@host/fhir" in clear: every line
// that is printed or logged goes through RedactUrlsIn.
TEST(StringsTest, RedactUrlsInHidesUserInfoInsideFreeText) {
  EXPECT_EQ(RedactUrlsIn("catching up: http://ann:s3cret@src:8080/fhir -> "
                         "https://bob:pw@dst/fhir?token=t"),
            "catching up: http://src:8080/fhir -> https://dst/fhir?token=REDACTED");
  // Glued to a key (a command line's -o) or a parenthesis.
  EXPECT_EQ(RedactUrlsIn("-o source.url=http://ann:s3cret@src/fhir run"),
            "-o source.url=http://src/fhir run");
  EXPECT_EQ(RedactUrlsIn("(GET http://u:p@h/metadata)"), "(GET http://h/metadata)");
  EXPECT_EQ(RedactUrlsIn("line one\nhttp://u:p@h/x\tend"), "line one\nhttp://h/x\tend");
  EXPECT_EQ(RedactUrlsIn("no URL here: user:pass@host"), "no URL here: user:pass@host");
  EXPECT_EQ(RedactUrlsIn(""), "");
}

TEST(StringsTest, EditDistanceAndNearest) {
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("rest.batch_size", "rest.batch_size"), 0u);
  std::vector<std::string> keys = {"rest.batch_size", "rest.concurrency", "migration.window"};
  EXPECT_EQ(Nearest("rest.batchsize", keys), "rest.batch_size");
  EXPECT_EQ(Nearest("Rest.Concurency", keys), "rest.concurrency");
  EXPECT_EQ(Nearest("migration.windw", keys), "migration.window");
  EXPECT_EQ(Nearest("log.colour", keys), "");  // nothing close: no guess
  EXPECT_EQ(Nearest("Patiant", {"Patient", "Practitioner"}), "Patient");
}

}  // namespace
}  // namespace fm::base
