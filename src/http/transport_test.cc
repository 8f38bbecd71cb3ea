#include "http/transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/url_parts.h"

namespace fm::http {
namespace {

using base::ErrorKind;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const base::Instant kNow = base::ParseInstant("2024-05-01T12:00:00Z").value();

Response WithStatus(int status, std::string body = "") {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

TEST(HeadersTest, FindIsCaseInsensitive) {
  Headers headers = {{"Content-Type", "application/fhir+json"}};
  ASSERT_NE(FindHeader(headers, "content-type"), nullptr);
  EXPECT_EQ(*FindHeader(headers, "CONTENT-TYPE"), "application/fhir+json");
  EXPECT_EQ(FindHeader(headers, "Accept"), nullptr);
}

TEST(HeadersTest, SetReplacesEveryCaseVariantOnce) {
  Headers headers = {{"Accept", "a"}, {"X", "1"}, {"accept", "b"}};
  SetHeader(headers, "ACCEPT", "c");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].name, "Accept");
  EXPECT_EQ(headers[0].value, "c");
  SetHeader(headers, "Prefer", "respond-async");
  EXPECT_EQ(*FindHeader(headers, "prefer"), "respond-async");
}

TEST(HeadersTest, RemoveDropsAllCaseVariants) {
  Headers headers = {{"Authorization", "a"}, {"X", "1"}, {"authorization", "b"}};
  RemoveHeader(headers, "AUTHORIZATION");
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].name, "X");
}

TEST(OriginTest, MakesDefaultPortExplicitAndLowercases) {
  EXPECT_EQ(OriginOf("HTTPS://Example.COM/fhir/Patient?x=1"), "https://example.com:443");
  EXPECT_EQ(OriginOf("http://example.com"), "http://example.com:80");
  EXPECT_EQ(OriginOf("http://example.com:8080/x"), "http://example.com:8080");
  EXPECT_EQ(OriginOf("https://user:pw@host.org:8443?q"), "https://host.org:8443");
  EXPECT_EQ(OriginOf("http://[::1]:9000/x"), "http://[::1]:9000");
  EXPECT_EQ(OriginOf("http://[::1]/x"), "http://[::1]:80");
}

TEST(OriginTest, SamePortSpelledOrNotIsTheSameOrigin) {
  EXPECT_EQ(OriginOf("https://a.org/x"), OriginOf("https://a.org:443/y"));
  EXPECT_NE(OriginOf("https://a.org/x"), OriginOf("http://a.org/x"));
  EXPECT_NE(OriginOf("http://a.org:80/x"), OriginOf("http://a.org:81/x"));
}

TEST(OriginTest, EmptyForRelativeOrBrokenUrls) {
  EXPECT_EQ(OriginOf("/fhir/Patient"), "");
  EXPECT_EQ(OriginOf("http://host:99999/"), "");
  EXPECT_EQ(OriginOf("http://host:abc/"), "");
  EXPECT_EQ(OriginOf("http:///path"), "");
}

TEST(RetryAfterTest, ParsesDeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), base::Millis(120'000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), base::Millis(0));
}

TEST(RetryAfterTest, ParsesHttpDateRelativeToNow) {
  EXPECT_EQ(ParseRetryAfter(base::FormatHttpDate(kNow + 90s), kNow), base::Millis(90'000));
}

TEST(RetryAfterTest, PastDateMeansNow) {
  EXPECT_EQ(ParseRetryAfter(base::FormatHttpDate(kNow - 1h), kNow), base::Millis(0));
}

TEST(RetryAfterTest, HugeValuesAreReturnedRawNotOverflowed) {
  auto epoch_as_seconds = ParseRetryAfter("1714564800", kNow);
  ASSERT_TRUE(epoch_as_seconds);
  EXPECT_EQ(*epoch_as_seconds, base::Millis(1714564800LL * 1000));
  auto absurd = ParseRetryAfter("99999999999999999999999", kNow);
  ASSERT_TRUE(absurd);
  EXPECT_GT(*absurd, base::Millis(0));
}

TEST(RetryAfterTest, RejectsGarbage) {
  EXPECT_FALSE(ParseRetryAfter("", kNow));
  EXPECT_FALSE(ParseRetryAfter("-5", kNow));
  EXPECT_FALSE(ParseRetryAfter("1.5", kNow));
  EXPECT_FALSE(ParseRetryAfter("soon", kNow));
}

TEST(ErrorFromResponseTest, MapsStatusToKind) {
  struct Case {
    int status;
    ErrorKind kind;
  };
  for (Case c : {Case{429, ErrorKind::kRateLimited}, Case{500, ErrorKind::kTransient},
                 Case{503, ErrorKind::kTransient}, Case{408, ErrorKind::kTransient},
                 Case{401, ErrorKind::kUnauthorized}, Case{403, ErrorKind::kUnauthorized},
                 Case{404, ErrorKind::kNotFound}, Case{410, ErrorKind::kNotFound},
                 Case{409, ErrorKind::kConflict}, Case{412, ErrorKind::kConflict},
                 Case{423, ErrorKind::kConflict}, Case{400, ErrorKind::kInvalidData},
                 Case{422, ErrorKind::kInvalidData}}) {
    base::Error error = ErrorFromResponse("GET x", WithStatus(c.status), kNow);
    EXPECT_EQ(error.kind, c.kind) << c.status;
    EXPECT_EQ(error.http_status, c.status);
  }
}

TEST(ErrorFromResponseTest, QuotesOperationOutcomeDiagnostics) {
  std::string outcome = R"({"resourceType":"OperationOutcome","issue":[
      {"severity":"error","code":"invalid","diagnostics":"Unknown search parameter \"foo\""},
      {"severity":"error","code":"invalid","details":{"text":"second issue"}}]})";
  base::Error error = ErrorFromResponse("source GET http://host/fhir/Patient?foo=1",
                                        WithStatus(400, outcome), kNow);
  EXPECT_EQ(error.message,
            "source GET http://host/fhir/Patient?foo=1 answered 400: "
            "Unknown search parameter \"foo\"; second issue");
}

TEST(ErrorFromResponseTest, FindsDiagnosticsInATruncatedOutcome) {
  std::string cut =
      R"({"resourceType":"OperationOutcome","issue":[{"diagnostics":"caf\u00e9 closed\n"},{"diag)";
  base::Error error = ErrorFromResponse("GET x", WithStatus(500, cut), kNow);
  EXPECT_EQ(error.message, "GET x answered 500: café closed");
}

TEST(ErrorFromResponseTest, NeverQuotesAJsonResource) {
  std::string resource = R"({"resourceType":"Patient","name":[{"family":"Secret"}]})";
  base::Error error = ErrorFromResponse("GET x", WithStatus(422, resource), kNow);
  EXPECT_EQ(error.message, "GET x answered 422");
  EXPECT_THAT(error.message, Not(HasSubstr("Secret")));
}

TEST(ErrorFromResponseTest, QuotesAShortExcerptOfAnHtmlPage) {
  std::string page =
      "<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>502 Bad "
      "Gateway</h1>\n<hr>nginx</body></html>";
  base::Error error = ErrorFromResponse("GET x", WithStatus(502, page), kNow);
  EXPECT_EQ(error.message, "GET x answered 502: 502 Bad Gateway 502 Bad Gateway nginx");
}

TEST(ErrorFromResponseTest, ExcerptIsAtMost300Characters) {
  base::Error error = ErrorFromResponse("GET x", WithStatus(500, std::string(5000, 'z')), kNow);
  std::string prefix = "GET x answered 500: ";
  ASSERT_THAT(error.message, HasSubstr(prefix));
  EXPECT_EQ(error.message.size() - prefix.size(), 300u);
}

TEST(ErrorFromResponseTest, RedactsSecretsInUrls) {
  base::Error error = ErrorFromResponse(
      "export GET https://blob.example/file.ndjson?sv=1&sig=SECRETSIG", WithStatus(403), kNow);
  EXPECT_THAT(error.message, Not(HasSubstr("SECRETSIG")));
  EXPECT_THAT(error.message, HasSubstr("sig=REDACTED"));
}

TEST(ErrorFromResponseTest, CarriesRetryAfter) {
  Response response = WithStatus(429);
  response.headers = {{"retry-after", "30"}};
  base::Error error = ErrorFromResponse("GET x", response, kNow);
  EXPECT_EQ(error.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(error.retry_after, base::Millis(30'000));
}

TEST(ErrorFromResponseTest, UnfollowedRedirectIsAConfigurationError) {
  Response response = WithStatus(301);
  response.headers = {{"Location", "https://host/fhir/?token=abc"}};
  base::Error error = ErrorFromResponse("GET http://host/fhir", response, kNow);
  EXPECT_EQ(error.kind, ErrorKind::kFatal);
  EXPECT_THAT(error.message, HasSubstr("redirect to https://host/fhir/?token=REDACTED"));
}

TEST(UrlPartsTest, HostAndPortForMessages) {
  auto parts = ParseUrlParts("https://Fhir.Example.org/R4/Patient?name=x");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->host, "fhir.example.org");
  EXPECT_EQ(parts->port, 443);
  EXPECT_EQ(parts->scheme, "https");
}

}  // namespace
}  // namespace fm::http
