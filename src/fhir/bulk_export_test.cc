#include "fhir/bulk_export.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "http/fake_transport.h"

namespace fm::fhir {
namespace {

base::Instant At(const char* t) { return *base::ParseInstant(t); }

http::Response Reply(int status, std::string body = "", http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

const char* kManifest = R"({"transactionTime":"2024-01-02T03:04:05.678Z",
  "request":"http://src.test/fhir/$export","requiresAccessToken":true,"extension":{"x":1},
  "output":[{"type":"Patient","url":"http://src.test/files/p1.ndjson","count":2,"extension":{}},
            {"type":"Patient","url":"http://src.test/files/p2.ndjson"}],
  "error":[{"type":"OperationOutcome","url":"http://src.test/files/e.ndjson"}],
  "deleted":[{"type":"Bundle","url":"http://src.test/files/d.ndjson","count":1}],
  "somethingNew":[1,2,3]})";

// A scripted server: answers in order, records requests.
struct Script {
  std::deque<http::Response> replies;
  http::FakeTransport transport{[this](const http::Request& r) -> base::Result<http::Response> {
    if (replies.empty()) return http::Response{500, {}, "script exhausted", {}, 0};
    http::Response next = std::move(replies.front());
    replies.pop_front();
    return http::DeliverBody(r, std::move(next));
  }};
};

struct BulkExportClientTest : ::testing::Test {
  env::ManualClock clock{At("2024-01-01T00:00:00Z")};
  Script script;
  std::vector<std::pair<std::string, std::string>> notes;
  PollOptions poll = [] {
    PollOptions p;
    p.initial_interval = base::Millis(1000);
    p.max_interval = base::Millis(8000);
    p.max_retry_after = base::Millis(60'000);
    return p;
  }();
  BulkExportClient client{
      "source",
      "http://src.test/fhir",
      script.transport,
      clock,
      poll,
      [this](const std::string& l, const std::string& m) { notes.emplace_back(l, m); },
      [this](const std::string&, bool force_refresh) -> std::optional<std::string> {
        ++auth_calls;
        if (force_refresh) ++renewals;
        return "Bearer tok" + std::to_string(renewals);
      }};
  int auth_calls = 0;
  int renewals = 0;
  bool NoteContains(const std::string& text) const {
    for (const auto& [l, m] : notes) {
      if (m.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

TEST(ManifestTest, ParsesEveryFieldAndIgnoresUnknownOnes) {
  auto m = ParseManifest(kManifest);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m->transaction_time, At("2024-01-02T03:04:05.678Z"));
  EXPECT_EQ(m->request, "http://src.test/fhir/$export");
  EXPECT_TRUE(m->requires_access_token);
  ASSERT_EQ(m->output.size(), 2u);
  EXPECT_EQ(m->output[0].type, "Patient");
  EXPECT_EQ(m->output[0].count, 2);
  EXPECT_EQ(m->output[1].count, -1);
  ASSERT_EQ(m->error.size(), 1u);
  ASSERT_EQ(m->deleted.size(), 1u);
  EXPECT_EQ(m->deleted[0].count, 1);
}

TEST(ManifestTest, RefusesBadShapesWithoutQuotingThem) {
  EXPECT_FALSE(ParseManifest("not json").ok());
  EXPECT_FALSE(ParseManifest(R"({"output":[]})").ok());  // no transactionTime
  EXPECT_FALSE(ParseManifest(R"({"transactionTime":"2024-01-01T00:00:00Z"})").ok());  // no output
  auto bad_url = ParseManifest(
      R"({"transactionTime":"2024-01-01T00:00:00Z","output":[{"type":"P","url":"secret-rel"}]})");
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().message.find("secret-rel"), std::string::npos);
  auto bad_count = ParseManifest(
      R"({"transactionTime":"2024-01-01T00:00:00Z","output":[{"type":"P","url":"http://x/a","count":-1}]})");
  EXPECT_FALSE(bad_count.ok());
  std::string deep(100000, '[');
  EXPECT_FALSE(ParseManifest(deep).ok());
  auto empty =
      ParseManifest(R"({"transactionTime":"2024-01-01T00:00:00Z","output":[],"error":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->output.empty());
}

TEST(ExportParamsTest, UpperBoundNameInclusiveAndNone) {
  ExportRequestOptions o;
  o.extra_params = {{"_maxCount", "5000"}};
  auto p = ExportParams(o, At("2024-01-01T00:00:00Z"), At("2024-02-01T00:00:00Z"),
                        {"Patient", "Observation"});
  auto find = [&](const std::string& name) -> std::string {
    for (const auto& [k, v] : p)
      if (k == name) return v;
    return "<absent>";
  };
  EXPECT_EQ(find("_since"), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(find("_till"), "2024-02-01T00:00:00.000Z");
  EXPECT_EQ(find("_type"), "Patient,Observation");
  EXPECT_EQ(find("_maxCount"), "5000");
  o.upper_bound_inclusive = true;
  o.upper_bound_param = "_until";
  p = ExportParams(o, At("2024-01-01T00:00:00Z"), At("2024-02-01T00:00:00Z"), {});
  EXPECT_EQ(find("_until"), "2024-01-31T23:59:59.999Z");
  EXPECT_EQ(find("_till"), "<absent>");
  o.upper_bound_param = "";
  p = ExportParams(o, At("2024-01-01T00:00:00Z"), At("2024-02-01T00:00:00Z"), {});
  EXPECT_EQ(find("_until"), "<absent>");
}

TEST_F(BulkExportClientTest, KickOffSendsTheProtocolHeadersAndReturnsContentLocation) {
  script.replies.push_back(Reply(429, "", {{"Retry-After", "2"}}));
  script.replies.push_back(
      Reply(202, "", {{"Content-Location", "http://src.test/fhir/$export-status/1"}}));
  ExportRequestOptions o;
  auto url = client.KickOff(o, At("2024-01-01T00:00:00Z"), At("2024-01-02T00:00:00Z"), {"Patient"});
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(*url, "http://src.test/fhir/$export-status/1");
  EXPECT_EQ(clock.TotalSlept(), base::Millis(2000));  // 429 waited per Retry-After
  auto reqs = script.transport.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(*http::FindHeader(reqs[1].headers, "Prefer"), "respond-async");
  EXPECT_EQ(*http::FindHeader(reqs[1].headers, "Accept"), "application/fhir+json");
  EXPECT_NE(reqs[1].url.find("_since=2024-01-01T00%3A00%3A00.000Z"), std::string::npos)
      << reqs[1].url;
  EXPECT_NE(reqs[1].url.find("_till="), std::string::npos);

  script.replies.push_back(Reply(202, "", {{"Content-Location", "/fhir/$export-status/2"}}));
  o.post = true;
  o.level = ExportLevel::kGroup;
  o.group_id = "g1";
  url = client.KickOff(o, std::nullopt, std::nullopt, {});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "http://src.test/fhir/$export-status/2");
  auto post = script.transport.requests().back();
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.url, "http://src.test/fhir/Group/g1/$export");
  EXPECT_EQ(nlohmann::json::parse(post.body)["resourceType"], "Parameters");

  script.replies.push_back(Reply(
      400,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"bad _type"}]})"));
  url = client.KickOff(o, std::nullopt, std::nullopt, {});
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message.find("bad _type"), std::string::npos) << url.error().message;
}

TEST_F(BulkExportClientTest, PollBacksOffHonoursRetryAfterAndClampsNonsense) {
  script.replies.push_back(Reply(202, "", {{"X-Progress", "10% done"}}));     // 1 s backoff
  script.replies.push_back(Reply(202, "", {{"Retry-After", "5"}}));           // 5 s
  script.replies.push_back(Reply(202, "", {{"Retry-After", "1700000000"}}));  // clamped 60 s
  script.replies.push_back(
      Reply(202, "", {{"Retry-After", base::FormatHttpDate(At("2024-01-01T00:10:00Z"))}}));
  script.replies.push_back(Reply(200, kManifest));
  auto r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->gone);
  EXPECT_EQ(r->manifest.output.size(), 2u);
  EXPECT_EQ(clock.TotalSlept(), base::Millis(1000 + 5000 + 60'000 + 60'000));
  EXPECT_TRUE(NoteContains("10% done"));
  EXPECT_TRUE(NoteContains("clamped"));
  EXPECT_EQ(*http::FindHeader(script.transport.requests()[0].headers, "Accept"),
            "application/json");
}

TEST_F(BulkExportClientTest, PollRetries429AndTransientOutcomesAndFailsOnOthers) {
  script.replies.push_back(Reply(429, "", {{"Retry-After", "3"}}));
  script.replies.push_back(Reply(
      500,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient"}]})"));
  script.replies.push_back(Reply(
      400,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"busy"}]})"));
  script.replies.push_back(Reply(200, kManifest));
  auto r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(script.transport.request_count(), 4u);
  EXPECT_TRUE(NoteContains("429"));

  script.replies.push_back(Reply(
      400,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"export failed: disk full"}]})"));
  r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->failed.has_value());
  EXPECT_NE(r->failed->message.find("disk full"), std::string::npos) << r->failed->message;

  script.replies.push_back(Reply(
      403,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"no scope"}]})"));
  r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_FALSE(r.ok()) << "a refused credential is not a failed job";
  EXPECT_EQ(r.error().kind, base::ErrorKind::kUnauthorized);

  script.replies.push_back(Reply(404, ""));
  r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->gone);
}

// A status poll answering 500 with a non-transient OperationOutcome is a job
// that failed for good. It was retried as a transient error, ten times with
// doubling waits (minutes with the default bulk.max_poll_interval), before
// the window could export again; now the first such answer ends the polling
// with the server's words.
TEST_F(BulkExportClientTest, PollStopsAtOnceWhenTheJobFailedForGood) {
  script.replies.push_back(Reply(202));
  script.replies.push_back(Reply(
      500,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Export job 7 failed: the database export step aborted"}]})"));
  auto r = client.Poll("http://src.test/fhir/$export-status/7");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->failed.has_value());
  EXPECT_FALSE(r->gone);
  EXPECT_EQ(script.transport.request_count(), 2u) << "polled again after the job failed";
  EXPECT_EQ(r->failed->http_status, 500);
  EXPECT_NE(r->failed->message.find("the database export step aborted"), std::string::npos)
      << r->failed->message;
  EXPECT_NE(r->failed->message.find("the export job failed"), std::string::npos);

  // A 5xx without an OperationOutcome, or with a transient one, is retried.
  script.replies.push_back(Reply(502, "<html><h1>502 Bad Gateway</h1></html>"));
  script.replies.push_back(Reply(
      500,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]})"));
  script.replies.push_back(Reply(200, kManifest));
  r = client.Poll("http://src.test/fhir/$export-status/7");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->failed.has_value());
  EXPECT_EQ(r->manifest.output.size(), 2u);
}

// A kick-off refused with a non-transient OperationOutcome is not asked
// again: a 500 "could not be queued" was retried ten times with doubling
// waits. A 429 or a transient 503 is retried, and the notes carry the
// server's own words, not a guess ("an export is already running").
TEST_F(BulkExportClientTest, KickOffRetriesOnlyWhatTheServerSaysIsTransientInItsOwnWords) {
  ExportRequestOptions o;
  script.replies.push_back(Reply(
      500,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Export could not be queued: the job store rejected the request"}]})"));
  auto url = client.KickOff(o, std::nullopt, std::nullopt, {});
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(script.transport.request_count(), 1u);
  EXPECT_EQ(clock.TotalSlept(), base::Millis(0));
  EXPECT_EQ(url.error().http_status, 500);
  EXPECT_NE(url.error().message.find("the job store rejected the request"), std::string::npos)
      << url.error().message;

  script.replies.push_back(Reply(
      429,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"throttled","diagnostics":"Another export job (id 41) is in progress for this client"}]})",
      {{"Retry-After", "3"}}));
  script.replies.push_back(Reply(
      503,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"export service starting"}]})"));
  script.replies.push_back(
      Reply(503, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"));
  script.replies.push_back(
      Reply(202, "", {{"Content-Location", "http://src.test/fhir/$export-status/9"}}));
  url = client.KickOff(o, std::nullopt, std::nullopt, {});
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(script.transport.request_count(), 5u);
  EXPECT_TRUE(NoteContains("Another export job (id 41) is in progress for this client"));
  EXPECT_TRUE(NoteContains("export service starting"));
  EXPECT_TRUE(NoteContains("503 Service Temporarily Unavailable"));
  EXPECT_FALSE(NoteContains("an export is already running"));

  // Given up: the error still says what the server said.
  PollOptions few = poll;
  few.max_transient_errors = 1;
  BulkExportClient impatient("source", "http://src.test/fhir", script.transport, clock, few);
  script.replies.push_back(Reply(
      429,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"throttled","diagnostics":"Another export job (id 42) is in progress"}]})"));
  script.replies.push_back(Reply(
      429,
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"throttled","diagnostics":"Another export job (id 42) is in progress"}]})"));
  url = impatient.KickOff(o, std::nullopt, std::nullopt, {});
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.error().message.find("(id 42) is in progress"), std::string::npos)
      << url.error().message;
  EXPECT_NE(url.error().message.find("gave up after 2 tries"), std::string::npos)
      << url.error().message;
}

TEST_F(BulkExportClientTest, DownloadAsksForARangeAndSendsAuthorizationOnlyToTheSameOrigin) {
  std::string got;
  auto sink = [&](std::string_view c) -> base::Status {
    got += c;
    return base::Ok();
  };
  script.replies.push_back(Reply(206, "rest\n"));
  auto r = client.Download("http://src.test/files/p1.ndjson", true, 10, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(got, "rest\n");
  auto req = script.transport.requests().back();
  EXPECT_EQ(*http::FindHeader(req.headers, "Range"), "bytes=10-");
  EXPECT_FALSE(req.accept_gzip);
  EXPECT_EQ(*http::FindHeader(req.headers, "Authorization"), "Bearer tok0");
  EXPECT_FALSE(req.follow_redirects);  // followed by the client, hop by hop

  script.replies.push_back(Reply(200, "x\n"));
  ASSERT_TRUE(client.Download("https://storage.test/f.ndjson", true, 0, sink).ok());
  req = script.transport.requests().back();
  EXPECT_EQ(http::FindHeader(req.headers, "Authorization"), nullptr);  // another origin
  EXPECT_TRUE(req.accept_gzip);
  EXPECT_EQ(http::FindHeader(req.headers, "Range"), nullptr);

  script.replies.push_back(Reply(200, "x\n"));
  ASSERT_TRUE(client.Download("http://src.test/files/p1.ndjson", false, 0, sink).ok());
  req = script.transport.requests().back();
  EXPECT_EQ(http::FindHeader(req.headers, "Authorization"), nullptr);  // requiresAccessToken false
  EXPECT_FALSE(client.MaySendAuthorization("http://src.test:80/x", false));
  EXPECT_TRUE(client.MaySendAuthorization("http://SRC.test:80/x", true));

  script.replies.push_back(Reply(410, ""));
  auto gone = client.Download("http://src.test/files/p1.ndjson", false, 0, sink);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, base::ErrorKind::kNotFound);
}

// Regression: the status poll set Authorization once before its loop, so a
// job running longer than the token's lifetime was polled with the expired
// token, answered 401 and failed the window. Every poll now asks for the
// current header, and a 401 renews the token and polls once more.
TEST_F(BulkExportClientTest, PollAsksForTheCurrentTokenOnEveryPollAndRenewsItAfterA401) {
  script.replies.push_back(Reply(202, ""));
  script.replies.push_back(Reply(202, ""));
  script.replies.push_back(Reply(401, ""));
  script.replies.push_back(Reply(200, kManifest));
  auto r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto reqs = script.transport.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(auth_calls, 4);  // three polls, one renewal
  EXPECT_EQ(renewals, 1);
  EXPECT_EQ(*http::FindHeader(reqs[2].headers, "Authorization"), "Bearer tok0");
  EXPECT_EQ(*http::FindHeader(reqs[3].headers, "Authorization"), "Bearer tok1");
  EXPECT_TRUE(NoteContains("renewed the access token"));

  // A second 401 with the renewed token is the server's answer.
  script.replies.push_back(Reply(401, ""));
  script.replies.push_back(Reply(401, ""));
  r = client.Poll("http://src.test/fhir/$export-status/1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kUnauthorized);
  EXPECT_EQ(renewals, 2);
}

TEST_F(BulkExportClientTest, DownloadRenewsTheTokenOnceAfterA401) {
  std::string got;
  auto sink = [&](std::string_view c) -> base::Status {
    got += c;
    return base::Ok();
  };
  script.replies.push_back(Reply(401, "expired"));
  script.replies.push_back(Reply(200, "a\n"));
  ASSERT_TRUE(client.Download("http://src.test/files/p1.ndjson", true, 0, sink).ok());
  EXPECT_EQ(got, "a\n");  // the 401's body never reached the sink
  EXPECT_EQ(*http::FindHeader(script.transport.requests().back().headers, "Authorization"),
            "Bearer tok1");
  // Without requiresAccessToken nothing is sent, so a 401 is not retried.
  script.replies.push_back(Reply(401, ""));
  auto r = client.Download("http://src.test/files/p1.ndjson", false, 0, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kUnauthorized);
  EXPECT_EQ(renewals, 1);
}

TEST_F(BulkExportClientTest, DownloadFollowsRedirectsCheckingEveryHopAndKeepsTheTokenOnOrigin) {
  std::vector<std::string> guarded;
  client.SetUrlGuard([&](const std::string& what, const std::string& url) -> base::Status {
    guarded.push_back(url);
    if (url.rfind("http://src.test/", 0) == 0 || url.rfind("https://storage.test/", 0) == 0) {
      return base::Ok();
    }
    return base::MakeError(base::ErrorKind::kFatal, what + ": " + url + " is not allowed");
  });
  std::string got;
  auto sink = [&](std::string_view c) -> base::Status {
    got += c;
    return base::Ok();
  };
  script.replies.push_back(Reply(307, "moved", {{"Location", "/files/p1-real.ndjson"}}));
  script.replies.push_back(Reply(302, "", {{"Location", "https://storage.test/x/p1?sig=S"}}));
  script.replies.push_back(Reply(200, "line\n"));
  auto r = client.Download("http://src.test/files/p1.ndjson", true, 0, sink);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(got, "line\n");  // redirect bodies are not file content
  auto reqs = script.transport.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].url, "http://src.test/files/p1-real.ndjson");
  EXPECT_EQ(*http::FindHeader(reqs[1].headers, "Authorization"), "Bearer tok0");  // same origin
  EXPECT_EQ(reqs[2].url, "https://storage.test/x/p1?sig=S");
  EXPECT_EQ(http::FindHeader(reqs[2].headers, "Authorization"), nullptr);  // another origin
  EXPECT_EQ(guarded, (std::vector<std::string>{"http://src.test/files/p1.ndjson",
                                               "http://src.test/files/p1-real.ndjson",
                                               "https://storage.test/x/p1?sig=S"}));

  // A hop to an origin that is not allowed is refused before it is sent.
  script.replies.push_back(Reply(302, "", {{"Location", "http://169.254.169.254/latest"}}));
  r = client.Download("http://src.test/files/p1.ndjson", true, 0, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("redirect target"), std::string::npos) << r.error().message;
  EXPECT_EQ(script.transport.requests().size(), 4u);

  script.replies.push_back(Reply(302, ""));
  r = client.Download("http://src.test/files/p1.ndjson", true, 0, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("without Location"), std::string::npos);

  for (int i = 0; i < 6; ++i) script.replies.push_back(Reply(302, "", {{"Location", "p1.ndjson"}}));
  r = client.Download("http://src.test/files/p1.ndjson", true, 0, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 5 redirects"), std::string::npos);
  EXPECT_EQ(script.transport.requests().back().url, "http://src.test/files/p1.ndjson");
}

TEST_F(BulkExportClientTest, DeleteAcceptsGone) {
  script.replies.push_back(Reply(202, ""));
  script.replies.push_back(Reply(404, ""));
  EXPECT_TRUE(client.Delete("http://src.test/fhir/$export-status/1").ok());
  EXPECT_TRUE(client.Delete("http://src.test/fhir/$export-status/1").ok());
  EXPECT_EQ(script.transport.requests()[0].method, "DELETE");
}

}  // namespace
}  // namespace fm::fhir

namespace fm::fhir {
namespace {

// A status or file URL on another origin is refused before any request is
// sent (the guard the composition root installs: security.allowed_origins).
TEST(BulkExportGuardTest, OffOriginStatusAndFileUrlsAreRefusedUnsent) {
  env::ManualClock clock{*base::ParseInstant("2024-01-01T00:00:00Z")};
  int sent = 0;
  http::FakeTransport transport([&](const http::Request&) -> base::Result<http::Response> {
    ++sent;
    return http::Response{200, {}, "{}", {}, 0};
  });
  BulkExportClient client("source", "http://src.test/fhir", transport, clock, PollOptions{});
  client.SetUrlGuard([](const std::string& what, const std::string& url) -> base::Status {
    if (url.rfind("http://src.test/", 0) == 0) return base::Ok();
    return base::MakeError(base::ErrorKind::kFatal, what + " " + url + " is off-origin");
  });
  auto poll = client.Poll("http://evil.test/status/1");
  ASSERT_FALSE(poll.ok());
  EXPECT_NE(poll.error().message.find("off-origin"), std::string::npos);
  auto download = client.Download("http://evil.test/f.ndjson", /*requires_access_token=*/true, 0,
                                  [](std::string_view) { return base::Ok(); });
  ASSERT_FALSE(download.ok());
  EXPECT_FALSE(client.Delete("http://evil.test/status/1").ok());
  EXPECT_EQ(sent, 0);
}

TEST(WaitToRetryDownloadTest, BacksOffHonoursRetryAfterAndGivesUpNamingTheFile) {
  env::ManualClock clock{*base::ParseInstant("2024-01-01T00:00:00Z")};
  std::vector<std::string> notes;
  NoteHook note = [&](const std::string&, const std::string& message) { notes.push_back(message); };
  DownloadRetry retry{3, base::Millis(1000), base::Millis(3000)};
  base::Error busy = base::MakeError(base::ErrorKind::kTransient, "HTTP 503", 503);
  ASSERT_TRUE(WaitToRetryDownload(busy, 1, "f1", 0, retry, clock, note).ok());
  EXPECT_EQ(clock.TotalSlept(), base::Millis(1000));
  base::Error slow = base::MakeError(base::ErrorKind::kRateLimited, "HTTP 429", 429);
  slow.retry_after = base::Millis(60'000);  // capped at max_backoff
  ASSERT_TRUE(WaitToRetryDownload(slow, 2, "f1", 4096, retry, clock, note).ok());
  EXPECT_EQ(clock.TotalSlept(), base::Millis(1000 + 3000));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[1].find("from byte 4096 (Range)"), std::string::npos) << notes[1];
  auto last = WaitToRetryDownload(busy, 3, "f1", 0, retry, clock, note);
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().kind, base::ErrorKind::kTransient);
  EXPECT_NE(last.error().message.find("file f1: download failed after 3 attempts"),
            std::string::npos);
  auto refused = WaitToRetryDownload(base::MakeError(base::ErrorKind::kInvalidData, "bad"), 1, "f2",
                                     0, retry, clock, note);
  EXPECT_FALSE(refused.ok());  // not retryable: no wait
  EXPECT_EQ(clock.TotalSlept(), base::Millis(4000));
  clock.Interrupt();
  auto stopped = WaitToRetryDownload(busy, 1, "f3", 0, retry, clock, note);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, base::ErrorKind::kCancelled);
}

}  // namespace
}  // namespace fm::fhir
