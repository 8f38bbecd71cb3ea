#include "fhir/bulk_import.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "env/clock.h"
#include "http/fake_transport.h"

namespace fm::fhir {
namespace {

using nlohmann::json;

constexpr const char* kBase = "http://dest/fhir";

http::Response Resp(int status, std::string body = "", http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::vector<ImportInput> Inputs(int n) {
  std::vector<ImportInput> v;
  for (int i = 0; i < n; ++i) v.push_back({"Patient", "http://files/p" + std::to_string(i) + ".ndjson", ""});
  return v;
}

size_t InputCount(const std::string& body) {
  size_t n = 0;
  json j = json::parse(body);
  for (const auto& p : j["parameter"]) n += p["name"] == "input";
  return n;
}

struct World {
  env::ManualClock clock{base::FromEpochMillis(1'700'000'000'000)};
  std::function<base::Result<http::Response>(const http::Request&)> handler;
  http::FakeTransport transport{[this](const http::Request& r) { return handler(r); }};
  Client client{"destination", kBase, transport, clock};
  ImportOptions options;
  BulkImporter Importer() { return BulkImporter(client, clock, options); }
};

TEST(BulkImportTest, ParametersBodyHasTheDocumentedShape) {
  std::string body = BuildImportParameters(
      {{"Patient", "https://a/c/Patient.ndjson", "0x8D9"}, {"Observation", "https://a/c/Obs.ndjson", ""}},
      ImportMode::kIncrementalLoad);
  json j = json::parse(body);
  EXPECT_EQ(j["resourceType"], "Parameters");
  ASSERT_EQ(j["parameter"].size(), 4u);
  EXPECT_EQ(j["parameter"][0], json({{"name", "inputFormat"}, {"valueString", "application/fhir+ndjson"}}));
  EXPECT_EQ(j["parameter"][1], json({{"name", "mode"}, {"valueString", "IncrementalLoad"}}));
  EXPECT_EQ(j["parameter"][2]["name"], "input");
  EXPECT_EQ(j["parameter"][2]["part"][0], json({{"name", "type"}, {"valueString", "Patient"}}));
  EXPECT_EQ(j["parameter"][2]["part"][1], json({{"name", "url"}, {"valueUri", "https://a/c/Patient.ndjson"}}));
  EXPECT_EQ(j["parameter"][2]["part"][2], json({{"name", "etag"}, {"valueUri", "0x8D9"}}));
  EXPECT_EQ(j["parameter"][3]["part"].size(), 2u);  // no etag
  EXPECT_EQ(json::parse(BuildImportParameters(Inputs(1), ImportMode::kInitialLoad))["parameter"][1]["valueString"],
            "InitialLoad");
  EXPECT_TRUE(ParseImportMode("initial").ok());
  EXPECT_FALSE(ParseImportMode("bogus").ok());
}

TEST(BulkImportTest, KickoffSendsPreferAndReturnsContentLocation) {
  World w;
  w.handler = [](const http::Request& r) -> base::Result<http::Response> {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, std::string(kBase) + "/$import");
    EXPECT_EQ(*http::FindHeader(r.headers, "Prefer"), "respond-async");
    EXPECT_EQ(*http::FindHeader(r.headers, "Content-Type"), "application/fhir+json");
    return Resp(202, "", {{"Content-Location", "/fhir/_operations/import/42"}});
  };
  auto url = w.Importer().Kickoff(Inputs(2));
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  EXPECT_EQ(*url, "http://dest/fhir/_operations/import/42");
}

TEST(BulkImportTest, ChunksAtFilesPerRequestAndKeepsParallelLimit) {
  World w;
  w.options.files_per_request = 3;
  w.options.parallel_imports = 2;
  int kicked = 0, in_flight = 0, max_in_flight = 0;
  std::map<std::string, int> polls;
  w.handler = [&](const http::Request& r) -> base::Result<http::Response> {
    if (r.method == "POST") {
      EXPECT_LE(InputCount(r.body), 3u);
      ++kicked;
      max_in_flight = std::max(max_in_flight, ++in_flight);
      return Resp(202, "", {{"Content-Location", std::string(kBase) + "/job/" + std::to_string(kicked)}});
    }
    if (++polls[r.url] < 3) return Resp(202, "", {{"Retry-After", "2"}});
    --in_flight;
    return Resp(200, R"({"transactionTime":"2024-01-01T00:00:00Z","output":[],"error":[]})");
  };
  std::vector<std::string> persisted;
  BulkImporter::Hooks hooks;
  hooks.on_kicked = [&](const BulkImporter::Kicked& k) {
    persisted.push_back(k.status_url);
    EXPECT_EQ(polls[k.status_url], 0);  // persisted before any poll
    return base::Ok();
  };
  auto importer = w.Importer();
  auto done = importer.Run(Inputs(8), {}, hooks);
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->size(), 3u);
  EXPECT_EQ(kicked, 3);
  EXPECT_EQ(max_in_flight, 2);
  EXPECT_EQ(persisted.size(), 3u);
}

TEST(BulkImportTest, WaitHonoursRetryAfterAndClampsIt) {
  World w;
  w.options.max_retry_after = std::chrono::seconds(60);
  int polls = 0;
  w.handler = [&](const http::Request&) -> base::Result<http::Response> {
    ++polls;
    if (polls == 1) return Resp(202, "", {{"Retry-After", "7"}});
    if (polls == 2) return Resp(202, "", {{"Retry-After", "7200"}});
    if (polls == 3) return Resp(202);  // no Retry-After: initial_poll (1s)
    return Resp(200, R"({"output":[{"type":"Patient","count":3,"inputUrl":"u"}],"error":[]})");
  };
  auto r = w.Importer().Wait("http://dest/job/1");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->output.at(0).count, 3);
  EXPECT_EQ(w.clock.TotalSlept(), std::chrono::milliseconds(7000 + 60000 + 1000));
}

TEST(BulkImportTest, TransientAnswersAreRetried) {
  World w;
  int calls = 0;
  w.handler = [&](const http::Request& r) -> base::Result<http::Response> {
    ++calls;
    if (calls <= 2) return Resp(calls == 1 ? 429 : 503, "", {{"Retry-After", "3"}});
    if (r.method == "POST") return Resp(202, "", {{"Content-Location", "http://dest/job/1"}});
    return Resp(200, "{}");
  };
  auto url = w.Importer().Kickoff(Inputs(1));
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(w.clock.TotalSlept(), std::chrono::seconds(6));
}

TEST(BulkImportTest, LockedIsAClearConflict) {
  World w;
  w.handler = [](const http::Request&) -> base::Result<http::Response> {
    return Resp(423, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"lock-error","diagnostics":"initial import mode"}]})");
  };
  auto url = w.Importer().Kickoff(Inputs(1));
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().kind, base::ErrorKind::kConflict);
  EXPECT_EQ(url.error().http_status, 423);
  EXPECT_NE(url.error().message.find("initial-import mode"), std::string::npos) << url.error().message;
  EXPECT_NE(url.error().message.find("retry later"), std::string::npos);
}

TEST(BulkImportTest, TooLargeSplitsInHalves) {
  World w;
  std::vector<size_t> sizes;
  int job = 0;
  w.handler = [&](const http::Request& r) -> base::Result<http::Response> {
    size_t n = InputCount(r.body);
    sizes.push_back(n);
    if (n > 2) return Resp(413, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"too-costly","diagnostics":"too large"}]})");
    return Resp(202, "", {{"Content-Location", "http://dest/job/" + std::to_string(++job)}});
  };
  auto kicked = w.Importer().KickoffSplitting(Inputs(7), nullptr);
  ASSERT_TRUE(kicked.ok()) << kicked.error().ToString();
  // 7 → 3+4 → (1+2) + (2+2)
  EXPECT_EQ(sizes, (std::vector<size_t>{7, 3, 1, 2, 4, 2, 2}));
  size_t total = 0;
  for (const auto& k : *kicked) total += k.inputs.size();
  EXPECT_EQ(total, 7u);
  EXPECT_EQ(kicked->size(), 4u);

  w.handler = [](const http::Request&) -> base::Result<http::Response> { return Resp(413); };
  auto one = w.Importer().KickoffSplitting(Inputs(1), nullptr);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().http_status, 413);
}

TEST(BulkImportTest, OtherClientErrorsFailWithTheServerMessage) {
  World w;
  w.handler = [](const http::Request&) -> base::Result<http::Response> {
    return Resp(400, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Unknown resource type Foo"}]})");
  };
  auto url = w.Importer().Kickoff(Inputs(1));
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_NE(url.error().message.find("Unknown resource type Foo"), std::string::npos) << url.error().message;
  EXPECT_EQ(w.transport.request_count(), 1u);
}

TEST(BulkImportTest, ErrorFilesAreStreamedWithLineAndDiagnostics) {
  World w;
  std::string errors =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Failed to process resource at line: 2 of u: invalid JSON"}]})"
      "\n"
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Failed to process resource at line: 5 of u: missing resourceType"}]})"
      "\n";
  w.handler = [&](const http::Request& r) -> base::Result<http::Response> {
    EXPECT_EQ(r.url, "http://dest/errors/1.ndjson");
    return http::DeliverBody(r, Resp(200, errors), 17);
  };
  ImportResult result;
  result.output.push_back({"Patient", 8, "u"});
  result.error.push_back({"OperationOutcome", 2, "u", "http://dest/errors/1.ndjson"});
  auto list = w.Importer().ReadErrors(result);
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].line, 2);
  EXPECT_EQ((*list)[0].resource_type, "Patient");
  EXPECT_EQ((*list)[0].input_url, "u");
  EXPECT_NE((*list)[0].diagnostics.find("invalid JSON"), std::string::npos);
  EXPECT_EQ((*list)[1].line, 5);
  EXPECT_NE((*list)[1].outcome_json.find("OperationOutcome"), std::string::npos);
}

TEST(BulkImportTest, ParsesTheStatusBody) {
  auto r = ParseImportResult(
      R"({"transactionTime":"2021-07-16T06:46:52Z","request":"https://h/$import",
          "output":[{"type":"Patient","count":10000,"inputUrl":"https://a/Patient.ndjson"}],
          "error":[{"type":"OperationOutcome","count":51,"inputUrl":"https://a/CarePlan.ndjson","url":"https://a/logs/x.ndjson"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->transaction_time, "2021-07-16T06:46:52Z");
  EXPECT_EQ(r->output[0].count, 10000);
  EXPECT_EQ(r->error[0].url, "https://a/logs/x.ndjson");
  EXPECT_FALSE(ParseImportResult("[1]").ok());
  EXPECT_FALSE(ParseImportResult(R"({"output":{}})").ok());
  EXPECT_EQ(LineFromDiagnostics("Failed to process resource at line: 12"), 12);
  EXPECT_EQ(LineFromDiagnostics("no number"), 0);
}

TEST(BulkImportTest, ShortfallWithoutErrorsIsAFailure) {
  ImportResult result;
  result.output = {{"Patient", 10, "a"}, {"Observation", 8, "b"}, {"Encounter", 5, "c"}};
  result.error = {{"OperationOutcome", 2, "b", "e"}};
  // a: complete; b: 8 + 2 errors = 10: explained; c: 5 of 7 with no errors: shortfall.
  auto c = CompareImportCounts({{"a", "Patient", 10}, {"b", "Observation", 10}, {"c", "Encounter", 7},
                                {"d", "Condition", -1}},
                               result);
  EXPECT_FALSE(c.ok());
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("Encounter"), std::string::npos) << c.problems[0];
  EXPECT_NE(c.problems[0].find("2 unaccounted"), std::string::npos) << c.problems[0];
  EXPECT_EQ(c.loaded, 23);
  EXPECT_EQ(c.errors, 2);
  // An input missing from output[] entirely is a failure too.
  auto missing = CompareImportCounts({{"z", "Patient", 1}}, result);
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(CompareImportCounts({{"a", "Patient", 10}}, result).ok());
}

TEST(BulkImportTest, ResumedJobsArePolledNotSentAgain) {
  World w;
  w.handler = [&](const http::Request& r) -> base::Result<http::Response> {
    EXPECT_EQ(r.method, "GET");
    return Resp(200, R"({"output":[{"type":"Patient","count":1,"inputUrl":"http://files/p0.ndjson"}]})");
  };
  auto importer = w.Importer();
  auto done = importer.Run({}, {{"http://dest/job/7", Inputs(1)}}, {});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(w.transport.request_count(), 1u);
}

TEST(BulkImportTest, AFailedJobIsAnError) {
  World w;
  w.handler = [](const http::Request&) -> base::Result<http::Response> {
    return Resp(400, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Import failed: Cannot read input"}]})");
  };
  auto r = w.Importer().Wait("http://dest/job/1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("import job failed"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Cannot read input"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace fm::fhir
