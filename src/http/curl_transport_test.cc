// NewCurlTransport against real sockets: a loopback HTTP/1.1 server on 127.0.0.1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "http/transport.h"
#include "tests/support/loopback_server.h"

namespace fm::http {
namespace {

using base::ErrorKind;
using test_support::GzipCompress;
using test_support::LoopbackRequest;
using test_support::LoopbackResponse;
using test_support::LoopbackServer;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

LoopbackResponse Ok(std::string body) {
  LoopbackResponse response;
  response.body = std::move(body);
  return response;
}

LoopbackResponse RedirectTo(std::string location, int status = 302) {
  LoopbackResponse response;
  response.status = status;
  response.headers = {{"Location", std::move(location)}};
  response.body = "moved";
  return response;
}

Request Get(std::string url) {
  Request request;
  request.url = std::move(url);
  return request;
}

// Collects streamed chunks.
struct Sink {
  std::vector<std::string> chunks;
  std::function<void()> on_chunk = [] {};
  BodySink fn() {
    return [this](std::string_view chunk) {
      chunks.emplace_back(chunk);
      on_chunk();
      return base::Ok();
    };
  }
  std::string all() const {
    std::string out;
    for (const auto& c : chunks) out += c;
    return out;
  }
};

class CurlTransportTest : public ::testing::Test {
 protected:
  std::unique_ptr<Transport> transport_ = NewCurlTransport(CurlOptions{});
};

TEST_F(CurlTransportTest, SendsMethodHeadersBodyAndQuery) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok(R"({"resourceType":"Patient","id":"1"})");
    response.status = 201;
    response.headers = {{"Location", "Patient/1/_history/1"}, {"ETag", "W/\"1\""}};
    return response;
  });
  Request request = Get(server.url("/fhir/Patient?_count=10&name=a%20b"));
  request.method = "POST";
  request.body = R"({"resourceType":"Patient"})";
  request.headers = {{"Content-Type", "application/fhir+json"}, {"Prefer", "return=minimal"}};
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, R"({"resourceType":"Patient","id":"1"})");
  EXPECT_EQ(result->body_bytes, result->body.size());
  EXPECT_EQ(result->effective_url, request.url);
  ASSERT_NE(FindHeader(result->headers, "etag"), nullptr);
  EXPECT_EQ(*FindHeader(result->headers, "etag"), "W/\"1\"");
  ASSERT_EQ(server.request_count(), 1u);
  LoopbackRequest seen = server.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/fhir/Patient?_count=10&name=a%20b");
  EXPECT_EQ(seen.body, request.body);
  ASSERT_NE(seen.header("prefer"), nullptr);
  EXPECT_EQ(*seen.header("prefer"), "return=minimal");
  ASSERT_NE(seen.header("User-Agent"), nullptr);
  EXPECT_EQ(*seen.header("User-Agent"), "fhir-migrate/0.1");
  EXPECT_EQ(seen.header("Expect"), nullptr);
}

TEST_F(CurlTransportTest, SendsPutDeleteAndHead) {
  LoopbackServer server([](const LoopbackRequest& r) { return Ok("method " + r.method); });
  Request put = Get(server.url("/fhir/Patient/1"));
  put.method = "PUT";
  put.body = "{}";
  auto put_result = transport_->Send(put);
  ASSERT_TRUE(put_result.ok());
  EXPECT_EQ(put_result->body, "method PUT");
  Request del = Get(server.url("/fhir/Patient/1"));
  del.method = "DELETE";
  ASSERT_TRUE(transport_->Send(del).ok());
  Request head = Get(server.url("/fhir/metadata"));
  head.method = "HEAD";
  auto head_result = transport_->Send(head);
  ASSERT_TRUE(head_result.ok());
  EXPECT_EQ(head_result->body, "");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].body, "{}");
  EXPECT_EQ(seen[1].method, "DELETE");
  EXPECT_EQ(seen[2].method, "HEAD");
}

TEST_F(CurlTransportTest, StreamsBodyInChunksAsTheyArrive) {
  std::string body;
  for (int i = 0; i < 2000; ++i) body += "{\"line\":" + std::to_string(i) + "}\n";
  // The server holds the last piece of the body back until the sink has
  // received something: a transport that buffered the body would make it
  // give up waiting (after a generous 30 s) and write the rest anyway.
  std::mutex mu;
  std::condition_variable cv;
  size_t chunks_seen = 0;
  std::optional<bool> streamed;  // set before the last piece is written
  LoopbackServer server([&](const LoopbackRequest&) {
    LoopbackResponse response = Ok(body);
    response.chunked = true;
    response.write_size = body.size() / 5 + 1;
    response.before_last_write = [&] {
      std::unique_lock lock(mu);
      streamed = cv.wait_for(lock, 30s, [&] { return chunks_seen > 0; });
    };
    return response;
  });
  Sink sink;
  sink.on_chunk = [&] {
    std::lock_guard lock(mu);
    ++chunks_seen;
    cv.notify_all();
  };
  Request request = Get(server.url("/export/Patient.ndjson"));
  request.on_body = sink.fn();
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->status, 200);
  EXPECT_TRUE(result->body.empty());
  EXPECT_EQ(result->body_bytes, body.size());
  EXPECT_EQ(sink.all(), body);
  ASSERT_GE(sink.chunks.size(), 2u);
  std::lock_guard lock(mu);
  ASSERT_TRUE(streamed.has_value());
  EXPECT_TRUE(*streamed) << "the sink saw nothing before the server finished writing";
}

TEST_F(CurlTransportTest, DecodesGzipTransparently) {
  std::string body(50000, 'x');
  LoopbackServer server([&](const LoopbackRequest& r) {
    const std::string* accept = r.header("Accept-Encoding");
    if (!accept || accept->find("gzip") == std::string::npos) return Ok(body);
    LoopbackResponse response = Ok(GzipCompress(body));
    response.headers = {{"Content-Encoding", "gzip"}};
    return response;
  });
  auto buffered = transport_->Send(Get(server.url("/a")));
  ASSERT_TRUE(buffered.ok()) << buffered.error().ToString();
  EXPECT_EQ(buffered->body, body);
  EXPECT_EQ(buffered->body_bytes, body.size());

  Sink sink;
  Request streamed = Get(server.url("/b"));
  streamed.on_body = sink.fn();
  auto result = transport_->Send(streamed);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(sink.all(), body);
  EXPECT_EQ(result->body_bytes, body.size());
}

TEST_F(CurlTransportTest, DoesNotAskForGzipWhenTurnedOff) {
  LoopbackServer server([](const LoopbackRequest&) { return Ok("plain"); });
  Request request = Get(server.url("/"));
  request.accept_gzip = false;
  ASSERT_TRUE(transport_->Send(request).ok());
  EXPECT_EQ(server.requests()[0].header("Accept-Encoding"), nullptr);
}

TEST_F(CurlTransportTest, ReusesKeepAliveConnection) {
  LoopbackServer server([](const LoopbackRequest& r) { return Ok(r.target); });
  for (int i = 0; i < 10; ++i) {
    auto result = transport_->Send(Get(server.url("/n/" + std::to_string(i))));
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_EQ(result->body, "/n/" + std::to_string(i));
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(CurlTransportTest, TimesOutASlowServer) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok("late");
    response.delay_before_headers = 5s;
    return response;
  });
  Request request = Get(server.url("/slow"));
  request.timeout = 300ms;
  // The server answers after 5 s; only the 300 ms timeout makes this fail.
  auto result = transport_->Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUnreachable);
  EXPECT_THAT(result.error().message, HasSubstr("request to 127.0.0.1 timed out"));
}

// http.timeout was read from the config and never applied: a request kept
// its own 10-minute default. The transport's request_timeout caps it.
TEST_F(CurlTransportTest, HttpTimeoutCapsARequestsLongerTimeout) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok("late");
    response.delay_before_headers = 5s;
    return response;
  });
  CurlOptions options;
  options.request_timeout = 300ms;
  auto capped = NewCurlTransport(options);
  Request request = Get(server.url("/slow"));
  ASSERT_GT(request.timeout, 5s);  // the request alone would wait for the answer
  auto result = capped->Send(request);
  ASSERT_FALSE(result.ok()) << "the answer arrived: the cap was not applied";
  EXPECT_EQ(result.error().kind, ErrorKind::kUnreachable);
  EXPECT_THAT(result.error().message, HasSubstr("timed out"));
}

TEST_F(CurlTransportTest, RefusedConnectionNamesHostAndPortButNotQuery) {
  uint16_t port;
  {
    LoopbackServer gone([](const LoopbackRequest&) { return Ok(""); });
    port = gone.port();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/fhir?access_token=SECRET";
  auto result = transport_->Send(Get(url));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUnreachable);
  EXPECT_EQ(result.error().message, "cannot connect to 127.0.0.1:" + std::to_string(port) +
                                        " (is the server running? check the URL and firewall)");
}

TEST_F(CurlTransportTest, UnresolvableHostIsUnreachable) {
  auto result = transport_->Send(Get("http://nonexistent.invalid/fhir/metadata"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUnreachable);
  EXPECT_EQ(result.error().message,
            "cannot resolve host nonexistent.invalid (check the URL and DNS)");
}

TEST_F(CurlTransportTest, TlsHandshakeFailureIsUnreachable) {
  LoopbackServer plain([](const LoopbackRequest&) { return Ok(""); });
  Request request = Get("https://127.0.0.1:" + std::to_string(plain.port()) + "/");
  request.timeout = 5s;
  auto result = transport_->Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kUnreachable);
  EXPECT_THAT(result.error().message, HasSubstr("TLS handshake with 127.0.0.1 failed"));
  EXPECT_THAT(result.error().message, HasSubstr("check ca_bundle"));
}

TEST_F(CurlTransportTest, RefusesHugeResponseHeaders) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok("body");
    for (int i = 0; i < 300; ++i) {
      response.headers.push_back({"X-Filler-" + std::to_string(i), std::string(1000, 'h')});
    }
    return response;
  });
  auto result = transport_->Send(Get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidData);
  EXPECT_THAT(result.error().message,
              HasSubstr("response headers from 127.0.0.1 exceed 262144 bytes (max_header_bytes)"));
}

TEST_F(CurlTransportTest, HeaderLimitIsConfigurable) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok("body");
    response.headers.push_back({"X-Big", std::string(3000, 'h')});
    return response;
  });
  auto transport = NewCurlTransport(CurlOptions{.max_header_bytes = 2048});
  auto result = transport->Send(Get(server.url("/")));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidData);
  EXPECT_TRUE(transport_->Send(Get(server.url("/"))).ok());
}

TEST_F(CurlTransportTest, RedirectToAnotherOriginDropsAuthorization) {
  LoopbackServer other([](const LoopbackRequest&) { return Ok("landed"); });
  LoopbackServer origin([&](const LoopbackRequest&) { return RedirectTo(other.url("/landing")); });
  Request request = Get(origin.url("/fhir/Binary/1"));
  request.headers = {{"Authorization", "Bearer SECRET"}};
  request.follow_redirects = true;
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "landed");
  EXPECT_EQ(result->effective_url, other.url("/landing"));
  ASSERT_EQ(origin.request_count(), 1u);
  EXPECT_NE(origin.requests()[0].header("Authorization"), nullptr);
  ASSERT_EQ(other.request_count(), 1u);
  EXPECT_EQ(other.requests()[0].header("Authorization"), nullptr);
}

TEST_F(CurlTransportTest, RedirectWithinOriginKeepsAuthorization) {
  LoopbackServer server([&](const LoopbackRequest& r) {
    return r.path() == "/start" ? RedirectTo("/next", 307) : Ok("here");
  });
  Request request = Get(server.url("/start"));
  request.headers = {{"Authorization", "Bearer SECRET"}};
  request.follow_redirects = true;
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->body, "here");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_NE(seen[1].header("Authorization"), nullptr);
  EXPECT_EQ(*seen[1].header("Authorization"), "Bearer SECRET");
}

TEST_F(CurlTransportTest, SeeOtherAfterPostFetchesWithGet) {
  LoopbackServer other([](const LoopbackRequest& r) { return Ok("result via " + r.method); });
  LoopbackServer origin([&](const LoopbackRequest&) { return RedirectTo(other.url("/r"), 303); });
  Request request = Get(origin.url("/fhir/$export"));
  request.method = "POST";
  request.body = "{}";
  request.headers = {{"Authorization", "Bearer SECRET"}};
  request.follow_redirects = true;
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->body, "result via GET");
  EXPECT_EQ(other.requests()[0].body, "");
}

TEST_F(CurlTransportTest, FollowsRedirectWithoutAuthorization) {
  LoopbackServer other([](const LoopbackRequest&) { return Ok("landed"); });
  LoopbackServer origin([&](const LoopbackRequest&) { return RedirectTo(other.url("/x")); });
  Request request = Get(origin.url("/"));
  request.follow_redirects = true;
  auto result = transport_->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->body, "landed");
  EXPECT_EQ(result->effective_url, other.url("/x"));
}

TEST_F(CurlTransportTest, DoesNotFollowRedirectsUnlessAsked) {
  LoopbackServer server([](const LoopbackRequest&) { return RedirectTo("/elsewhere", 301); });
  auto result = transport_->Send(Get(server.url("/")));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 301);
  EXPECT_EQ(*FindHeader(result->headers, "Location"), "/elsewhere");
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(CurlTransportTest, RedirectLoopIsFatalWithOrWithoutAuthorization) {
  LoopbackServer server([](const LoopbackRequest&) { return RedirectTo("/again"); });
  for (bool with_auth : {false, true}) {
    Request request = Get(server.url("/"));
    request.follow_redirects = true;
    if (with_auth) request.headers = {{"Authorization", "Bearer x"}};
    auto result = transport_->Send(request);
    ASSERT_FALSE(result.ok()) << with_auth;
    EXPECT_EQ(result.error().kind, ErrorKind::kFatal);
    EXPECT_THAT(result.error().message, HasSubstr("too many redirects"));
  }
}

TEST_F(CurlTransportTest, ErrorBodyIsBufferedWhileSuccessIsStreamed) {
  LoopbackServer server([](const LoopbackRequest& r) {
    if (r.path() == "/ok") return Ok("streamed");
    LoopbackResponse response = Ok(R"({"resourceType":"OperationOutcome"})");
    response.status = 404;
    return response;
  });
  Sink sink;
  Request missing = Get(server.url("/missing"));
  missing.on_body = sink.fn();
  auto error = transport_->Send(missing);
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->status, 404);
  EXPECT_EQ(error->body, R"({"resourceType":"OperationOutcome"})");
  EXPECT_TRUE(sink.chunks.empty());

  Request ok = Get(server.url("/ok"));
  ok.on_body = sink.fn();
  auto streamed = transport_->Send(ok);
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(streamed->body, "");
  EXPECT_EQ(sink.all(), "streamed");
}

TEST_F(CurlTransportTest, ErrorBodyIsCappedAtMaxErrorBody) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok(std::string(5000, 'e'));
    response.status = 500;
    return response;
  });
  auto transport = NewCurlTransport(CurlOptions{.max_error_body = 1000});
  auto result = transport->Send(Get(server.url("/")));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(result->body, std::string(1000, 'e'));
}

TEST_F(CurlTransportTest, ConnectionClosedMidBodyIsTransientAndCountsBytes) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackResponse response = Ok(std::string(1000, 'b'));
    response.close_after_body_bytes = 400;
    return response;
  });
  Sink sink;
  Request request = Get(server.url("/file.ndjson?sig=SECRET"));
  request.on_body = sink.fn();
  auto result = transport_->Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransient);
  EXPECT_THAT(result.error().message, HasSubstr("connection to 127.0.0.1 broke after 400 bytes"));
  EXPECT_THAT(result.error().message, Not(HasSubstr("SECRET")));
  EXPECT_EQ(sink.all().size(), 400u);
}

TEST_F(CurlTransportTest, SinkErrorAbortsTheTransfer) {
  LoopbackServer server([](const LoopbackRequest&) { return Ok(std::string(100000, 'z')); });
  Request request = Get(server.url("/"));
  request.on_body = [](std::string_view) {
    return base::Status(base::MakeError(ErrorKind::kStorage, "disk full"));
  };
  auto result = transport_->Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kStorage);  // the sink's own error, kind kept
  EXPECT_EQ(result.error().message, "disk full");
  // The handle is still usable afterwards.
  EXPECT_TRUE(transport_->Send(Get(server.url("/"))).ok());
}

TEST_F(CurlTransportTest, RejectsNonHttpUrls) {
  auto result = transport_->Send(Get("file:///etc/passwd"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kFatal);
}

TEST_F(CurlTransportTest, ManyThreadsSendConcurrently) {
  LoopbackServer server([](const LoopbackRequest& r) { return Ok("echo " + r.target); });
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string target = "/t" + std::to_string(t) + "/" + std::to_string(i);
        auto result = transport_->Send(Get(server.url(target)));
        if (!result.ok() || result->body != "echo " + target) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.request_count(), static_cast<size_t>(kThreads * kPerThread));
  // Connections are kept alive: at most one per pooled handle.
  EXPECT_LE(server.connections_accepted(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace fm::http
