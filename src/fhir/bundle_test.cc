#include "fhir/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fm::fhir {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

// Bytes a parse-and-dump would change: spacing, 1.50, 1e2, escapes, key order.
constexpr std::string_view kPatient =
    R"({ "resourceType" : "Patient", "id":"p1", "name":[{"family":"Caf\u00e9", "given":["A\"B"]}],
  "extension":[{"url":"http://x/weight","valueDecimal":1.50},{"url":"http://x/n","valueInteger":1e2}] })";
constexpr std::string_view kObservation =
    R"({"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"}})";

TEST(BuildBundleTest, RoundTripsThroughAJsonParserWithResourceBytesUnchanged) {
  std::vector<BundleEntry> entries = {
      {"PUT", "Patient/p1", kPatient},
      {"PUT", "Observation/o1", kObservation},
      {"DELETE", "Observation/o9", ""},
  };
  std::string bundle = BuildBundle(entries, /*transaction=*/false);

  Json doc = Json::parse(bundle);
  EXPECT_EQ(doc["resourceType"], "Bundle");
  EXPECT_EQ(doc["type"], "batch");
  ASSERT_EQ(doc["entry"].size(), 3u);
  EXPECT_EQ(doc["entry"][0]["request"], Json({{"method", "PUT"}, {"url", "Patient/p1"}}));
  EXPECT_EQ(doc["entry"][0]["resource"], Json::parse(kPatient));
  EXPECT_EQ(doc["entry"][1]["resource"], Json::parse(kObservation));
  EXPECT_FALSE(doc["entry"][2].contains("resource"));
  EXPECT_EQ(doc["entry"][2]["request"]["method"], "DELETE");
  // Byte-identical: the exact text of every resource is inside the bundle.
  EXPECT_NE(bundle.find(kPatient), std::string::npos);
  EXPECT_NE(bundle.find(kObservation), std::string::npos);
}

TEST(BuildBundleTest, WritesTransactionType) {
  std::string bundle = BuildBundle({{"POST", "Patient", kPatient}}, /*transaction=*/true);
  EXPECT_EQ(Json::parse(bundle)["type"], "transaction");
}

TEST(BuildBundleTest, EmptyBundleIsValidJson) {
  EXPECT_EQ(BuildBundle({}, false), R"({"resourceType":"Bundle","type":"batch","entry":[]})");
}

TEST(BuildBundleTest, EscapesRequestUrlAsAJsonString) {
  std::string url = "Patient?identifier=urn:sys|a\"b\\c\n\x01";
  std::string bundle = BuildBundle({{"DELETE", url, ""}}, false);
  Json doc = Json::parse(bundle);
  EXPECT_EQ(doc["entry"][0]["request"]["url"], url);
}

// Medplum: bare codes, locations without _history.
constexpr std::string_view kMedplumResponse = R"({"resourceType":"Bundle","type":"batch-response",
  "entry":[{"response":{"status":"200","location":"Patient/p1"}},
           {"response":{"status":"201","location":"Patient/p2"}}]})";

TEST(ParseBundleResponseTest, ReadsBareStatusCodes) {
  auto results = ParseBundleResponse(kMedplumResponse, 2);
  ASSERT_TRUE(results.ok()) << results.error().ToString();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].status, 200);
  EXPECT_EQ((*results)[0].location, "Patient/p1");
  EXPECT_EQ((*results)[1].status, 201);
  EXPECT_TRUE((*results)[0].diagnostics.empty());
  EXPECT_TRUE((*results)[0].outcome_json.empty());
}

// HAPI-like: reason phrases, an informational outcome per success, and a
// failed entry whose outcome carries the reason.
constexpr std::string_view kHapiResponse = R"({
  "resourceType": "Bundle",
  "type": "batch-response",
  "entry": [ {
    "response": {
      "status": "201 Created",
      "location": "Patient/p1/_history/1",
      "etag": "1",
      "outcome": {"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"Successfully created resource"}]}
    }
  }, {
    "response": {
      "status": "200 OK",
      "location": "Observation/o1/_history/4"
    }
  }, {
    "response": {
      "status": "400 Bad Request",
      "outcome": {
        "resourceType": "OperationOutcome",
        "issue": [ {
          "severity": "error",
          "code": "processing",
          "diagnostics": "HAPI-0450: Failed to parse request body as JSON resource."
        } ]
      }
    }
  }, {
    "response": {"status": "HTTP/1.1 409 Conflict"},
    "resource": {"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"conflict","details":{"text":"version conflict"}}]}
  } ]
})";

TEST(ParseBundleResponseTest, ReadsReasonPhrasesLocationsAndOutcomes) {
  auto results = ParseBundleResponse(kHapiResponse, 4);
  ASSERT_TRUE(results.ok()) << results.error().ToString();
  const auto& r = *results;
  EXPECT_EQ(r[0].status, 201);
  EXPECT_EQ(r[0].location, "Patient/p1/_history/1");
  EXPECT_EQ(r[0].diagnostics, "information/informational: Successfully created resource");
  EXPECT_EQ(r[1].status, 200);
  EXPECT_TRUE(r[1].outcome_json.empty());
  EXPECT_EQ(r[2].status, 400);
  EXPECT_EQ(r[2].diagnostics,
            "error/processing: HAPI-0450: Failed to parse request body as JSON resource.");
  EXPECT_THAT(r[2].outcome_json, StartsWith(R"({
        "resourceType": "OperationOutcome",)"));
  EXPECT_EQ(r[2].outcome_json.back(), '}');
  EXPECT_TRUE(Json::accept(r[2].outcome_json));
}

TEST(ParseBundleResponseTest, ReadsAnErrorOutcomeSentAsTheEntryResource) {
  auto results = ParseBundleResponse(kHapiResponse, 4);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[3].status, 409);
  EXPECT_EQ((*results)[3].diagnostics, "error/conflict: version conflict");
  EXPECT_TRUE(Json::accept((*results)[3].outcome_json));
}

TEST(ParseBundleResponseTest, ReadsTransactionResponses) {
  auto results = ParseBundleResponse(
      R"({"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"200"}}]})",
      1);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status, 200);
}

TEST(ParseBundleResponseTest, EntryCountMismatchIsInvalidData) {
  auto results = ParseBundleResponse(kMedplumResponse, 3);
  ASSERT_FALSE(results.ok());
  EXPECT_EQ(results.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_THAT(results.error().message, HasSubstr("2 entries for 3 sent"));
  auto none = ParseBundleResponse(R"({"resourceType":"Bundle","type":"batch-response"})", 1);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("0 entries for 1 sent"));
  EXPECT_TRUE(ParseBundleResponse(R"({"resourceType":"Bundle","type":"batch-response"})", 0).ok());
}

TEST(ParseBundleResponseTest, RejectsUnreadableShapes) {
  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {R"({"resourceType":"OperationOutcome","issue":[]})",
       R"(resourceType is "OperationOutcome")"},
      {R"({"resourceType":"Bundle","type":"batch","entry":[{}]})", R"(Bundle.type is "batch")"},
      {R"({"resourceType":"Bundle","entry":[{"request":{}}]})", "entry 0 has no readable"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"OK"}}]})",
       "entry 0 has no readable"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"2000"}}]})",
       "entry 0 has no readable"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":200}}]})",
       "unexpected field type"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"200"}})", "invalid JSON"},
      {"<html>Service Unavailable</html>", "not a JSON object"},
      {R"({"entry":[{"response":{"status":"200"}}]})", "no resourceType"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"200"}}]} x)", "invalid JSON"},
      {R"({"resourceType":"Bundle","entry":[{"response":{"status":"200"}}]}{})", "text after"},
  };
  for (const Case& c : cases) {
    auto results = ParseBundleResponse(c.body, 1);
    ASSERT_FALSE(results.ok()) << c.body;
    EXPECT_EQ(results.error().kind, base::ErrorKind::kInvalidData) << c.body;
    EXPECT_THAT(results.error().message, StartsWith("not a batch-response Bundle (")) << c.body;
    EXPECT_THAT(results.error().message, HasSubstr(c.reason)) << c.body;
    EXPECT_THAT(results.error().message, ::testing::Not(HasSubstr("Unavailable"))) << c.body;
  }
}

}  // namespace
}  // namespace fm::fhir
