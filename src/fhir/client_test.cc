#include "fhir/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "env/clock.h"
#include "fhir/history.h"
#include "fhir/testdata.h"
#include "http/fake_transport.h"

namespace fm::fhir {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBase[] = "https://fhir.example.org:8443/fhir/R4";

http::Response Answer(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  response.body_bytes = response.body.size();
  return response;
}

// A fake server: answers by the URL after the base, and 404 otherwise.
class ClientTest : public ::testing::Test {
 protected:
  ClientTest()
      : transport_([this](const http::Request& request) -> base::Result<http::Response> {
          std::string path = request.url.substr(std::string(kBase).size());
          auto it = routes_.find(request.method + " " + path);
          if (it == routes_.end()) return Answer(404, R"({"resourceType":"OperationOutcome"})");
          return it->second;
        }),
        clock_(base::FromEpochMillis(1'700'000'000'000)),
        client_("source", std::string(kBase) + "/", transport_, clock_) {}

  void Route(const std::string& method_and_path, base::Result<http::Response> answer) {
    routes_.insert_or_assign(method_and_path, std::move(answer));
  }
  http::Request LastRequest() const { return transport_.requests().back(); }

  std::map<std::string, base::Result<http::Response>> routes_;
  http::FakeTransport transport_;
  env::ManualClock clock_;
  Client client_;
};

TEST_F(ClientTest, UrlKeepsTheBasePathAndEncodesValues) {
  EXPECT_EQ(client_.base_url(), kBase);
  EXPECT_EQ(
      client_.Url("Patient", {{"_lastUpdated", "ge2021-01-01T00:00:00.000Z"}, {"_count", "100"}}),
      std::string(kBase) + "/Patient?_lastUpdated=ge2021-01-01T00%3A00%3A00.000Z&_count=100");
  EXPECT_EQ(client_.Url("Observation", {{"code", "http://loinc.org|1234-5"}, {"_type", "A,B"}}),
            std::string(kBase) + "/Observation?code=http%3A%2F%2Floinc.org%7C1234-5&_type=A%2CB");
}

TEST_F(ClientTest, UrlKeepsOperationsAndSegmentsButEncodesTheRest) {
  EXPECT_EQ(client_.Url("Patient/$export"), std::string(kBase) + "/Patient/$export");
  EXPECT_EQ(client_.Url("/metadata"), std::string(kBase) + "/metadata");
  EXPECT_EQ(client_.Url(""), kBase);
  EXPECT_EQ(client_.Url("", {{"_type", "Patient"}}), std::string(kBase) + "?_type=Patient");
  EXPECT_EQ(client_.Url("Patient/a b?c#d"), std::string(kBase) + "/Patient/a%20b%3Fc%23d");
}

TEST_F(ClientTest, SendRawAddsFhirJsonHeadersUnlessTheCallerSetThem) {
  Route("POST ", Answer(200, "{}"));
  http::Request post;
  post.method = "POST";
  post.url = kBase;
  post.body = "{}";
  ASSERT_TRUE(client_.SendRaw(post).ok());
  const http::Request sent = LastRequest();
  ASSERT_NE(http::FindHeader(sent.headers, "accept"), nullptr);
  EXPECT_EQ(*http::FindHeader(sent.headers, "Accept"), "application/fhir+json");
  EXPECT_EQ(*http::FindHeader(sent.headers, "Content-Type"), "application/fhir+json");

  http::Request get;
  get.url = std::string(kBase) + "/x";
  http::SetHeader(get.headers, "Accept", "application/ndjson");
  auto answer = client_.SendRaw(get);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status, 404);  // any status comes back as a Response
  EXPECT_EQ(*http::FindHeader(LastRequest().headers, "Accept"), "application/ndjson");
  EXPECT_EQ(http::FindHeader(LastRequest().headers, "Content-Type"), nullptr);
}

TEST_F(ClientTest, GetCapabilitiesReadsMetadataUnderTheBasePath) {
  Route("GET /metadata", Answer(200, testfiles::ReadTestData("azure_capability.json")));
  auto caps = client_.GetCapabilities();
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_EQ(LastRequest().url, std::string(kBase) + "/metadata");
  EXPECT_TRUE(caps->system_export);
}

TEST_F(ClientTest, GetCapabilitiesNamesTheServerWhenTheAnswerIsNotAStatement) {
  Route("GET /metadata", Answer(200, "<html>login page</html>"));
  auto caps = client_.GetCapabilities();
  ASSERT_FALSE(caps.ok());
  EXPECT_EQ(caps.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_THAT(caps.error().message, HasSubstr("source /metadata is not a CapabilityStatement"));
}

// A source URL pointing at a web server that is not FHIR ended `run` with
// exit code 1 (invalid-data) after the planner's first count: the start-up
// probe calls it what it is, a URL where no FHIR server answers (exit 3).
TEST_F(ClientTest, ProbeCallsAnythingButACapabilityStatementNoFhirServer) {
  Route("GET /metadata", Answer(200, "<html>login page</html>"));
  auto html = client_.ProbeCapabilities();
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().kind, base::ErrorKind::kUnreachable);
  EXPECT_THAT(html.error().message, HasSubstr(std::string("no FHIR server answers at ") + kBase));
  EXPECT_THAT(html.error().message, HasSubstr("not a CapabilityStatement"));

  Route("GET /metadata", Answer(404, "not here"));
  auto missing = client_.ProbeCapabilities();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, base::ErrorKind::kUnreachable);
  EXPECT_THAT(missing.error().message, HasSubstr("404"));

  Route("GET /metadata", Answer(401, "{}"));
  auto refused = client_.ProbeCapabilities();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, base::ErrorKind::kUnauthorized);  // exit 4, not 3

  Route("GET /metadata", Answer(200, testfiles::ReadTestData("azure_capability.json")));
  EXPECT_TRUE(client_.ProbeCapabilities().ok());
}

TEST_F(ClientTest, CountAsksForSummaryCountAndReadsTotal) {
  Route("GET /Observation?_lastUpdated=lt2022&_summary=count",
        Answer(200, R"({"resourceType":"Bundle","type":"searchset","total":16315})"));
  auto count = client_.Count("Observation", {{"_lastUpdated", "lt2022"}});
  ASSERT_TRUE(count.ok()) << count.error().ToString();
  EXPECT_EQ(*count, 16315);
}

TEST_F(ClientTest, CountWithoutTotalIsInvalidData) {
  Route("GET /Patient?_summary=count",
        Answer(200, R"({"resourceType":"Bundle","type":"searchset"})"));
  auto count = client_.Count("Patient", {});
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_THAT(count.error().message, HasSubstr("source answered a count without Bundle.total"));
}

TEST_F(ClientTest, SearchFirstReturnsMatchesAndResolvesARelativeNextLink) {
  Route("GET /Patient?_count=2",
        Answer(200, R"({"resourceType":"Bundle","type":"searchset","total":3,
          "link":[{"relation":"next","url":"Patient?_count=2&_offset=2"}],
          "entry":[{"resource":{"resourceType":"Patient","id":"a"},"search":{"mode":"match"}},
                   {"resource":{"resourceType":"Patient","id":"b"}}]})"));
  Route("GET /Patient?_count=2&_offset=2",
        Answer(200, R"({"resourceType":"Bundle","type":"searchset","total":3,
          "entry":[{"resource":{"resourceType":"Patient","id":"c"}}]})"));
  auto first = client_.SearchFirst("Patient", {{"_count", "2"}});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->resources.size(), 2u);
  EXPECT_EQ(first->total, 3);
  ASSERT_TRUE(first->next_url.has_value());
  EXPECT_EQ(*first->next_url, std::string(kBase) + "/Patient?_count=2&_offset=2");

  auto second = client_.SearchUrl(*first->next_url);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->resources, std::vector<std::string>{R"({"resourceType":"Patient","id":"c"})"});
  EXPECT_FALSE(second->next_url.has_value());
  EXPECT_EQ(LastRequest().url, *first->next_url);
}

// A server behind a proxy (or a hostile one) may hand out next links on
// another host; following them would send the tool's requests, and data,
// wherever the server says.
TEST_F(ClientTest, APagingLinkOnAnotherOriginIsRefusedUnsent) {
  size_t before = transport_.requests().size();
  for (const char* link :
       {"http://evil.example/fhir/Patient?_offset=2",
        "https://fhir.example.org:9443/fhir/R4/Patient?_offset=2", "ftp://x/y"}) {
    auto page = client_.SearchUrl(link);
    ASSERT_FALSE(page.ok()) << link;
    EXPECT_EQ(page.error().kind, base::ErrorKind::kFatal);
    EXPECT_THAT(page.error().message, HasSubstr("not on its own origin"));
  }
  auto history = HistoryNext(client_, "http://evil.example/fhir/Patient/_history?page=2");
  ASSERT_FALSE(history.ok());
  EXPECT_THAT(history.error().message, HasSubstr("not on its own origin"));
  EXPECT_EQ(transport_.requests().size(), before);
}

TEST_F(ClientTest, SearchOnAnHtmlPageIsInvalidDataThatNamesTheServerButNotTheBody) {
  Route("GET /Patient", Answer(200, "<html><body>Proxy error: upstream reset</body></html>"));
  auto page = client_.SearchFirst("Patient", {});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_THAT(page.error().message,
              HasSubstr("source answered a page that is not a searchset Bundle ("));
  EXPECT_THAT(page.error().message, Not(HasSubstr("upstream")));
}

TEST_F(ClientTest, SearchOnAServerErrorIsAnErrorOfThatKind) {
  Route("GET /Patient", Answer(503, ""));
  auto page = client_.SearchFirst("Patient", {});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().kind, base::ErrorKind::kTransient);
  EXPECT_EQ(page.error().http_status, 503);
  EXPECT_THAT(page.error().message, HasSubstr("source"));
}

TEST_F(ClientTest, ReadReturnsTheBodyOrNothingWhenGone) {
  Route("GET /Patient/p1", Answer(200, R"({"resourceType":"Patient","id":"p1"})"));
  Route("GET /Patient/gone", Answer(410, ""));
  auto found = client_.Read("Patient", "p1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->value(), R"({"resourceType":"Patient","id":"p1"})");
  auto missing = client_.Read("Patient", "p2");  // 404 from the fake
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto gone = client_.Read("Patient", "gone");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(ClientTest, ReadOnUnauthorizedIsAnError) {
  Route("GET /Patient/p1", Answer(401, ""));
  auto read = client_.Read("Patient", "p1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, base::ErrorKind::kUnauthorized);
}

TEST_F(ClientTest, PostBundlePostsToTheBaseAndReturnsTheResponse) {
  Route("POST ", Answer(200, R"({"resourceType":"Bundle","type":"batch-response"})"));
  auto body = client_.PostBundle(R"({"resourceType":"Bundle","type":"batch"})");
  ASSERT_TRUE(body.ok()) << body.error().ToString();
  EXPECT_EQ(*body, R"({"resourceType":"Bundle","type":"batch-response"})");
  http::Request sent = LastRequest();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, kBase);
  EXPECT_EQ(sent.body, R"({"resourceType":"Bundle","type":"batch"})");
  EXPECT_EQ(*http::FindHeader(sent.headers, "Content-Type"), "application/fhir+json");
}

TEST_F(ClientTest, PostBundleRejectedByTheServerIsAnErrorNamingIt) {
  Route("POST ", Answer(400, R"({"resourceType":"OperationOutcome","issue":[
      {"severity":"error","code":"processing","diagnostics":"Transaction contains more update operations than allowed"}]})"));
  auto body = client_.PostBundle("{}");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_EQ(body.error().http_status, 400);
  EXPECT_THAT(body.error().message, HasSubstr("source POST bundle"));
}

TEST_F(ClientTest, DeleteSendsDeleteAndTreatsGoneAsDone) {
  Route("DELETE /Patient/p1", Answer(204, ""));
  EXPECT_TRUE(client_.Delete("Patient", "p1").ok());
  EXPECT_EQ(LastRequest().method, "DELETE");
  EXPECT_EQ(LastRequest().url, std::string(kBase) + "/Patient/p1");
  EXPECT_TRUE(client_.Delete("Patient", "p2").ok());  // 404
  Route("DELETE /Patient/p3", Answer(409, ""));
  auto conflict = client_.Delete("Patient", "p3");
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, base::ErrorKind::kConflict);
}

TEST_F(ClientTest, TransportFailuresKeepTheirKindAndNameTheServer) {
  Route("GET /Patient/p1", base::MakeError(base::ErrorKind::kTransient, "connection refused"));
  auto read = client_.Read("Patient", "p1");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, base::ErrorKind::kTransient);
  EXPECT_THAT(read.error().message, HasSubstr("source"));
  EXPECT_THAT(read.error().message, HasSubstr("connection refused"));
}

}  // namespace
}  // namespace fm::fhir
