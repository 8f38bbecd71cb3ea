#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "fhir/client.h"

namespace fm::fhir {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::string_view kBase = "https://fhir.example.org/fhir/R4";

// A pretty-printed page as HAPI writes it: numbers and escapes a re-serialiser
// would change, an include entry, an outcome entry, and links.
constexpr std::string_view kPage = R"({
  "resourceType": "Bundle",
  "id": "5d1c",
  "meta": {"lastUpdated": "2024-02-03T04:05:06.789+00:00"},
  "type": "searchset",
  "total": 1234,
  "link": [
    {"relation": "self", "url": "https://fhir.example.org/fhir/R4/Observation?_count=2"},
    {"relation": "next", "url": "https://fhir.example.org/fhir/R4?_getpages=5d1c&_getpagesoffset=2"}
  ],
  "entry": [
    {
      "fullUrl": "https://fhir.example.org/fhir/R4/Observation/o1",
      "resource": {
        "resourceType": "Observation",
        "id": "o1",
        "valueQuantity": {"value": 1.50, "unit": "mmol/L"},
        "note": [{"text": "caf\u00e9 \"quoted\""}]
      },
      "search": {"mode": "match"}
    },
    {
      "fullUrl": "https://fhir.example.org/fhir/R4/Patient/p1",
      "resource": {"resourceType": "Patient", "id": "p1"},
      "search": {"mode": "include"}
    },
    {
      "resource": {"resourceType":"Observation","id":"o2","valueInteger":1e2}
    },
    {
      "resource": {"resourceType": "OperationOutcome", "issue": []},
      "search": {"mode": "outcome"}
    }
  ]
}
)";

TEST(ParseSearchPageTest, KeepsMatchEntriesVerbatimAndSkipsIncludesAndOutcomes) {
  auto page = ParseSearchPage(std::string(kPage), kBase);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  EXPECT_THAT(page->resources,
              ElementsAre(R"({
        "resourceType": "Observation",
        "id": "o1",
        "valueQuantity": {"value": 1.50, "unit": "mmol/L"},
        "note": [{"text": "caf\u00e9 \"quoted\""}]
      })",
                          R"({"resourceType":"Observation","id":"o2","valueInteger":1e2})"));
}

TEST(ParseSearchPageTest, ReadsTotalAndAbsoluteNextLink) {
  auto page = ParseSearchPage(std::string(kPage), kBase);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1234);
  EXPECT_EQ(page->next_url, "https://fhir.example.org/fhir/R4?_getpages=5d1c&_getpagesoffset=2");
}

TEST(ParseSearchPageTest, ResolvesRelativeNextLinkAgainstTheBase) {
  auto page = ParseSearchPage(R"({"resourceType":"Bundle","type":"searchset","link":[
      {"relation":"next","url":"Patient?_count=100&_offset=100"}],"entry":[]})",
                              kBase);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_url, "https://fhir.example.org/fhir/R4/Patient?_count=100&_offset=100");
  EXPECT_FALSE(page->total.has_value());
  EXPECT_TRUE(page->resources.empty());
}

TEST(ParseSearchPageTest, LastPageHasNoNextLink) {
  auto page = ParseSearchPage(
      R"({"resourceType":"Bundle","link":[{"relation":"self","url":"x"},{"relation":"previous","url":"y"}]})",
      kBase);
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->next_url.has_value());
}

TEST(ParseSearchPageTest, CountingSkipsResourcesAndAcceptsABareTotal) {
  auto page = ParseSearchPage(std::string(kPage), kBase, /*keep_resources=*/false);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->resources.empty());
  EXPECT_EQ(page->total, 1234);
  // The Medplum router answers _summary=count with {"total":N} alone.
  auto bare = ParseSearchPage(R"({"total":16315})", kBase, /*keep_resources=*/false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->total, 16315);
}

TEST(ParseSearchPageTest, ReadsAPageOfThousandsOfResources) {
  std::string body = R"({"resourceType":"Bundle","type":"searchset","entry":[)";
  for (int i = 0; i < 5000; ++i) {
    if (i) body += ',';
    body += R"({"resource":{"resourceType":"Patient","id":"p)" + std::to_string(i) +
            R"(","name":[{"family":"Doe"}]},"search":{"mode":"match"}})";
  }
  body += "]}";
  auto page = ParseSearchPage(body, kBase);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->resources.size(), 5000u);
  EXPECT_EQ(page->resources[4999],
            R"({"resourceType":"Patient","id":"p4999","name":[{"family":"Doe"}]})");
}

struct MalformedCase {
  const char* name;
  std::string body;
  const char* reason;
};

TEST(ParseSearchPageTest, MalformedPagesAreInvalidDataWithAReasonButNoBody) {
  const MalformedCase cases[] = {
      {"html", "<html><body><h1>502 Bad Gateway</h1></body></html>", "not a JSON object"},
      {"truncated", std::string(kPage.substr(0, kPage.size() / 2)), "invalid JSON"},
      {"truncated at a brace", R"({"resourceType":"Bundle","entry":[{"resource":{"id":"secret"}})",
       "invalid JSON"},
      {"empty", "", "empty body"},
      {"outcome", R"({"resourceType":"OperationOutcome","issue":[{"diagnostics":"secret"}]})",
       R"(resourceType is "OperationOutcome")"},
      {"odd resourceType", R"({"resourceType":"<script>secret</script>"})",
       "resourceType is an unexpected value"},
      {"history", R"({"resourceType":"Bundle","type":"history","entry":[]})",
       R"(Bundle.type is "history")"},
      {"no resourceType", R"({"entry":[{"resource":{"id":"secret"}}]})", "no resourceType"},
      {"array", R"([{"resourceType":"Bundle"}])", "not a JSON object"},
      {"entry not array", R"({"resourceType":"Bundle","entry":{"resource":{}}})",
       "unexpected field type"},
      {"resource not object", R"({"resourceType":"Bundle","entry":[{"resource":"secret"}]})",
       "unexpected field type"},
      {"total not integer", R"({"resourceType":"Bundle","total":"12"})", "unexpected field type"},
      {"trailing text", R"({"resourceType":"Bundle","entry":[]} secret)", "invalid JSON"},
      {"extra brace", R"({"resourceType":"Bundle","entry":[]}})", "text after"},
      {"second document", R"({"resourceType":"Bundle"}{"secret":1})", "text after"},
  };
  for (const MalformedCase& c : cases) {
    auto page = ParseSearchPage(c.body, kBase);
    ASSERT_FALSE(page.ok()) << c.name;
    EXPECT_EQ(page.error().kind, base::ErrorKind::kInvalidData) << c.name;
    EXPECT_THAT(page.error().message, StartsWith("not a searchset Bundle (")) << c.name;
    EXPECT_THAT(page.error().message, HasSubstr(c.reason)) << c.name;
    EXPECT_THAT(page.error().message, Not(HasSubstr("secret"))) << c.name;
    EXPECT_THAT(page.error().message, Not(HasSubstr("Bad Gateway"))) << c.name;
  }
}

TEST(ResolveLinkTest, HandlesTheFormsServersWrite) {
  const std::string base = "https://h.example:8443/fhir/R4";
  EXPECT_EQ(ResolveLink(base, "http://other/fhir/Patient?a=b"), "http://other/fhir/Patient?a=b");
  EXPECT_EQ(ResolveLink(base, "/fhir/R4/Patient?_offset=20"),
            "https://h.example:8443/fhir/R4/Patient?_offset=20");
  EXPECT_EQ(ResolveLink(base, "?_getpages=abc&_getpagesoffset=20"),
            "https://h.example:8443/fhir/R4?_getpages=abc&_getpagesoffset=20");
  EXPECT_EQ(ResolveLink(base, "Patient?_cursor=x"),
            "https://h.example:8443/fhir/R4/Patient?_cursor=x");
  EXPECT_EQ(ResolveLink(base + "/", "Patient?u=http://x"),
            "https://h.example:8443/fhir/R4/Patient?u=http://x");
  EXPECT_EQ(ResolveLink(base, "//cdn.example/page2"), "https://cdn.example/page2");
}

}  // namespace
}  // namespace fm::fhir
