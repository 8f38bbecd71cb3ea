#include "http/retry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/fake_transport.h"

namespace fm::http {
namespace {

using base::ErrorKind;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const base::Instant kStart = base::ParseInstant("2024-05-01T12:00:00Z").value();

Response Reply(int status, std::string body = "", Headers headers = {}) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

// Answers with the scripted results in order, then repeats the last one.
FakeTransport::Handler Script(std::vector<base::Result<Response>> script) {
  auto shared = std::make_shared<std::vector<base::Result<Response>>>(std::move(script));
  auto next = std::make_shared<size_t>(0);
  return [shared, next](const Request&) {
    size_t i = std::min(*next, shared->size() - 1);
    ++*next;
    return (*shared)[i];
  };
}

RetryOptions NoJitter() {
  RetryOptions options;
  options.jitter = 0;
  return options;
}

class RetryTest : public ::testing::Test {
 protected:
  std::unique_ptr<Transport> Retrying(Transport& inner, RetryOptions options = NoJitter()) {
    return NewRetryingTransport(inner, clock_, options,
                                [this](const RetryEvent& e) { events_.push_back(e); });
  }
  Request Get(std::string url = "https://fhir.example/Patient") {
    Request request;
    request.url = std::move(url);
    return request;
  }

  env::ManualClock clock_{kStart};
  std::vector<RetryEvent> events_;
};

TEST(BackoffDelayTest, DoublesFromInitialAndCaps) {
  RetryOptions options;
  EXPECT_EQ(BackoffDelay(options, 1), 500ms);
  EXPECT_EQ(BackoffDelay(options, 2), 1000ms);
  EXPECT_EQ(BackoffDelay(options, 3), 2000ms);
  EXPECT_EQ(BackoffDelay(options, 7), 32000ms);
  EXPECT_EQ(BackoffDelay(options, 8), 60000ms);
  EXPECT_EQ(BackoffDelay(options, 1000), 60000ms);
}

TEST_F(RetryTest, RetriesServiceUnavailableThenSucceeds) {
  FakeTransport fake(Script({Reply(503), Reply(503), Reply(200, "ok")}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "ok");
  EXPECT_EQ(fake.request_count(), 3u);
  EXPECT_EQ(clock_.TotalSlept(), 1500ms);  // 500ms + 1s
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].attempt, 1);
  EXPECT_EQ(events_[0].http_status, 503);
  EXPECT_EQ(events_[0].delay, 500ms);
  EXPECT_EQ(events_[1].attempt, 2);
  EXPECT_EQ(events_[1].delay, 1000ms);
}

// The log line of a retry says why in the server's own words: "HTTP 503"
// alone does not tell a throttled destination from one that is down.
TEST_F(RetryTest, TheRetryReasonCarriesTheServersWords) {
  FakeTransport fake(Script(
      {Reply(
           503,
           R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"database failover in progress"}]})"),
       Reply(502, "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"), Reply(429),
       Reply(200, "ok")}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].reason, "HTTP 503: database failover in progress");
  EXPECT_THAT(events_[1].reason, HasSubstr("502 Bad Gateway"));
  EXPECT_THAT(events_[1].reason, ::testing::Not(HasSubstr("<h1>")));
  EXPECT_EQ(events_[2].reason, "HTTP 429");
}

TEST_F(RetryTest, HonoursRetryAfterSeconds) {
  FakeTransport fake(Script({Reply(429, "", {{"Retry-After", "7"}}), Reply(200)}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(clock_.TotalSlept(), 7s);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].requested, 7s);
  EXPECT_FALSE(events_[0].clamped);
}

TEST_F(RetryTest, HonoursRetryAfterHttpDate) {
  std::string date = base::FormatHttpDate(kStart + 42s);
  FakeTransport fake(Script({Reply(503, "", {{"Retry-After", date}}), Reply(200)}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(clock_.TotalSlept(), 42s);
}

TEST_F(RetryTest, ClampsAbsurdRetryAfterAndReports) {
  FakeTransport fake(Script({Reply(429, "", {{"Retry-After", "86400"}}), Reply(200)}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(clock_.TotalSlept(), 5min);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_TRUE(events_[0].clamped);
  EXPECT_EQ(events_[0].requested, 24h);
  EXPECT_EQ(events_[0].delay, 5min);
}

TEST_F(RetryTest, UsesBackoffWhenRetryAfterIsUnparseable) {
  FakeTransport fake(Script({Reply(429, "", {{"Retry-After", "later"}}), Reply(200)}));
  ASSERT_TRUE(Retrying(fake)->Send(Get()).ok());
  EXPECT_EQ(clock_.TotalSlept(), 500ms);
}

TEST_F(RetryTest, IgnoresRetryAfterOnOtherStatuses) {
  FakeTransport fake(Script({Reply(500, "", {{"Retry-After", "60"}}), Reply(200)}));
  ASSERT_TRUE(Retrying(fake)->Send(Get()).ok());
  EXPECT_EQ(clock_.TotalSlept(), 500ms);
}

TEST_F(RetryTest, RetriesRequestTimeout) {
  FakeTransport fake(Script({Reply(408), Reply(200)}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 200);
}

TEST_F(RetryTest, DoesNotRetryBadRequest) {
  FakeTransport fake(Script({Reply(400, "bad"), Reply(200)}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(result->body, "bad");
  EXPECT_EQ(fake.request_count(), 1u);
  EXPECT_EQ(clock_.TotalSlept(), 0ms);
  EXPECT_TRUE(events_.empty());
}

TEST_F(RetryTest, DoesNotRetryOtherClientErrors) {
  for (int status : {401, 403, 404, 409, 410, 412, 422}) {
    FakeTransport fake(Script({Reply(status), Reply(200)}));
    auto result = Retrying(fake)->Send(Get());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->status, status);
    EXPECT_EQ(fake.request_count(), 1u) << status;
  }
}

TEST_F(RetryTest, RetriesNetworkErrorBeforeAnyByte) {
  FakeTransport fake(Script({Reply(200, "payload")}));
  FaultyTransport faulty(fake);
  faulty.Inject({.fault = FaultyTransport::Fault::kReset});
  std::string received;
  Request request = Get();
  request.on_body = [&](std::string_view chunk) {
    received += chunk;
    return base::Ok();
  };
  auto result = Retrying(faulty)->Send(request);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(received, "payload");
  EXPECT_EQ(faulty.injected(), 1u);
  EXPECT_EQ(fake.request_count(), 1u);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].http_status, 0);
  EXPECT_THAT(events_[0].reason, HasSubstr("connection reset"));
}

TEST_F(RetryTest, ResetMidBodyIsNotRetriedAfterBytesStreamed) {
  FakeTransport fake(Script({Reply(200, "0123456789")}));
  FaultyTransport faulty(fake);
  faulty.Inject({.fault = FaultyTransport::Fault::kResetMidBody});
  std::string received;
  Request request = Get();
  request.on_body = [&](std::string_view chunk) {
    received += chunk;
    return base::Ok();
  };
  auto result = Retrying(faulty)->Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransient);
  EXPECT_THAT(result.error().message, HasSubstr("connection reset"));
  EXPECT_EQ(received, "01234");
  EXPECT_EQ(fake.request_count(), 1u);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(clock_.TotalSlept(), 0ms);
}

TEST_F(RetryTest, GivesUpAfterMaxAttempts) {
  FakeTransport fake(Script({Reply(503, "still down")}));
  RetryOptions options = NoJitter();
  options.max_attempts = 4;
  auto result = Retrying(fake, options)->Send(Get());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->body, "still down");
  EXPECT_EQ(fake.request_count(), 4u);
  EXPECT_EQ(events_.size(), 3u);
  EXPECT_EQ(clock_.TotalSlept(), 3500ms);  // 0.5 + 1 + 2 s
}

TEST_F(RetryTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  FakeTransport fake(Script({base::MakeError(ErrorKind::kTransient, "connection refused")}));
  RetryOptions options = NoJitter();
  options.max_attempts = 3;
  auto result = Retrying(fake, options)->Send(Get());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "connection refused");
  EXPECT_EQ(fake.request_count(), 3u);
}

TEST_F(RetryTest, DoesNotRetryFatalErrors) {
  FakeTransport fake(Script({base::MakeError(ErrorKind::kFatal, "cannot resolve host x")}));
  auto result = Retrying(fake)->Send(Get());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kFatal);
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST_F(RetryTest, HonoursRetryAfterCarriedByARateLimitedError) {
  base::Error throttled = base::MakeError(ErrorKind::kRateLimited, "throttled");
  throttled.retry_after = 3s;
  FakeTransport fake(Script({throttled, Reply(200)}));
  ASSERT_TRUE(Retrying(fake)->Send(Get()).ok());
  EXPECT_EQ(clock_.TotalSlept(), 3s);
}

TEST_F(RetryTest, InterruptedSleepCancels) {
  FakeTransport fake(Script({Reply(503), Reply(200)}));
  clock_.Interrupt();
  auto result = Retrying(fake)->Send(Get());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST_F(RetryTest, EventUrlIsRedacted) {
  FakeTransport fake(Script({Reply(503), Reply(200)}));
  ASSERT_TRUE(Retrying(fake)->Send(Get("https://blob.example/f?sig=SECRET")).ok());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].url, "https://blob.example/f?sig=REDACTED");
}

TEST_F(RetryTest, JitterIsDeterministicAndWithinBounds) {
  RetryOptions options;  // jitter 0.2
  options.max_attempts = 6;
  auto delays = [&](uint64_t seed) {
    FakeTransport fake(Script({Reply(503)}));
    std::vector<base::Millis> out;
    auto retrying = NewRetryingTransport(
        fake, clock_, options, [&](const RetryEvent& e) { out.push_back(e.delay); }, seed);
    (void)retrying->Send(Get());
    return out;
  };
  std::vector<base::Millis> first = delays(7);
  EXPECT_EQ(first, delays(7));
  EXPECT_NE(first, delays(8));
  ASSERT_EQ(first.size(), 5u);
  for (size_t i = 0; i < first.size(); ++i) {
    double nominal = static_cast<double>(BackoffDelay(options, static_cast<int>(i) + 1).count());
    EXPECT_GE(first[i].count(), nominal * 0.8);
    EXPECT_LE(first[i].count(), nominal * 1.2);
  }
}

}  // namespace
}  // namespace fm::http
