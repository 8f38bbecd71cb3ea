#include "http/fake_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fm::http {
namespace {

using base::ErrorKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

FakeTransport::Handler Echo(const std::string& body, int status = 200) {
  return [body, status](const Request&) -> base::Result<Response> {
    Response response;
    response.status = status;
    response.body = body;
    return response;
  };
}

Request WithSink(std::string url, std::vector<std::string>& chunks) {
  Request request;
  request.url = std::move(url);
  request.on_body = [&chunks](std::string_view chunk) {
    chunks.emplace_back(chunk);
    return base::Ok();
  };
  return request;
}

TEST(FakeTransportTest, RecordsRequests) {
  FakeTransport fake(Echo("x"));
  Request request;
  request.method = "POST";
  request.url = "http://fake/Patient";
  request.body = "{}";
  ASSERT_TRUE(fake.Send(request).ok());
  ASSERT_EQ(fake.request_count(), 1u);
  EXPECT_EQ(fake.requests()[0].method, "POST");
  EXPECT_EQ(fake.requests()[0].body, "{}");
}

TEST(FakeTransportTest, BuffersBodyWithoutSink) {
  FakeTransport fake(Echo("hello"));
  auto result = fake.Send({.url = "http://fake/x"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->body, "hello");
  EXPECT_EQ(result->body_bytes, 5u);
  EXPECT_EQ(result->effective_url, "http://fake/x");
}

TEST(FakeTransportTest, StreamsSuccessfulBodyToSinkLikeARealTransport) {
  FakeTransport fake(Echo(std::string(10000, 'a')));
  std::vector<std::string> chunks;
  auto result = fake.Send(WithSink("http://fake/x", chunks));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->body.empty());
  EXPECT_EQ(result->body_bytes, 10000u);
  ASSERT_EQ(chunks.size(), 3u);  // 4096-byte chunks
  EXPECT_EQ(chunks[0].size(), 4096u);
}

TEST(FakeTransportTest, HandlerMayDeliverItselfWithoutDoubleDelivery) {
  FakeTransport fake([](const Request& request) {
    Response response;
    response.status = 200;
    response.body = "abcdef";
    return DeliverBody(request, std::move(response), 2);
  });
  std::vector<std::string> chunks;
  auto result = fake.Send(WithSink("http://fake/x", chunks));
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(chunks, ElementsAre("ab", "cd", "ef"));
  EXPECT_EQ(result->body_bytes, 6u);
}

TEST(FakeTransportTest, ErrorBodiesStayInTheResponse) {
  FakeTransport fake(Echo("not here", 404));
  std::vector<std::string> chunks;
  auto result = fake.Send(WithSink("http://fake/x", chunks));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(chunks.empty());
  EXPECT_EQ(result->body, "not here");
}

TEST(FakeTransportTest, SinkErrorAbortsTheSend) {
  FakeTransport fake(Echo("abc"));
  Request request;
  request.url = "http://fake/x";
  request.on_body = [](std::string_view) {
    return base::Status(base::MakeError(ErrorKind::kFatal, "disk full"));
  };
  auto result = fake.Send(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "disk full");
}

TEST(FaultyTransportTest, InjectsStatusWithRetryAfterOnce) {
  FakeTransport fake(Echo("real"));
  FaultyTransport faulty(fake);
  faulty.Inject({.fault = FaultyTransport::Fault::kStatus, .status = 429, .retry_after = "5"});
  auto first = faulty.Send({.url = "http://fake/x"});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 429);
  ASSERT_NE(FindHeader(first->headers, "Retry-After"), nullptr);
  EXPECT_EQ(*FindHeader(first->headers, "Retry-After"), "5");
  auto second = faulty.Send({.url = "http://fake/x"});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->body, "real");
  EXPECT_EQ(faulty.injected(), 1u);
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST(FaultyTransportTest, OnlyMatchingUrlsGetTheFault) {
  FakeTransport fake(Echo("real"));
  FaultyTransport faulty(fake);
  faulty.Inject({.fault = FaultyTransport::Fault::kReset, .url_contains = "/Observation"});
  EXPECT_TRUE(faulty.Send({.url = "http://fake/Patient"}).ok());
  auto hit = faulty.Send({.url = "http://fake/Observation?x"});
  ASSERT_FALSE(hit.ok());
  EXPECT_EQ(hit.error().kind, ErrorKind::kTransient);
  EXPECT_THAT(hit.error().message, HasSubstr("connection reset"));
  EXPECT_EQ(faulty.injected(), 1u);
}

TEST(FaultyTransportTest, ResetMidBodyDeliversHalfThenFails) {
  FakeTransport fake(Echo("0123456789"));
  FaultyTransport faulty(fake);
  faulty.Inject({.fault = FaultyTransport::Fault::kResetMidBody});
  std::vector<std::string> chunks;
  auto result = faulty.Send(WithSink("http://fake/x", chunks));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kTransient);
  EXPECT_THAT(result.error().message, HasSubstr("connection reset"));
  EXPECT_THAT(chunks, ElementsAre("01234"));
}

}  // namespace
}  // namespace fm::http
