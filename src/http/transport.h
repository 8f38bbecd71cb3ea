// The HTTP port. Everything that talks to a server goes through Transport, so
// tests can swap in a fake, wrap it with faults, or put retries around it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace fm::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// Case-insensitive lookup; nullptr when absent.
const std::string* FindHeader(const Headers& headers, std::string_view name);
void SetHeader(Headers& headers, std::string name, std::string value);  // replaces
void RemoveHeader(Headers& headers, std::string_view name);

// Receives a streamed 2xx response body, chunk by chunk, any boundary.
// Returning an error aborts the transfer and Send returns that error.
using BodySink = std::function<base::Status(std::string_view chunk)>;

struct Request {
  std::string method = "GET";
  std::string url;  // absolute
  Headers headers;
  std::string body;
  base::Millis timeout{std::chrono::minutes(10)};        // whole exchange
  base::Millis connect_timeout{std::chrono::seconds(30)};
  // When set, a 2xx body streams here and Response::body stays empty; other
  // statuses still fill Response::body (bounded) so errors can be read.
  BodySink on_body;
  // Follow 3xx. An Authorization header is never carried to another origin.
  bool follow_redirects = false;
  // Send Accept-Encoding: gzip and decode transparently.
  bool accept_gzip = true;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  std::string effective_url;  // after redirects
  uint64_t body_bytes = 0;    // bytes delivered (streamed or buffered), decoded
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Thread-safe; blocks until the exchange ends. An HTTP error status is a
  // Response, not an Error: Errors are for exchanges that did not complete
  // (connection refused, DNS, TLS, timeout, reset, body sink error).
  virtual base::Result<Response> Send(const Request& request) = 0;
};

// Maps a non-2xx response to an Error: 429 → kRateLimited (with retry_after),
// 5xx/408 → kTransient, 401/403 → kUnauthorized, 404/410 → kNotFound,
// 409/412/423 → kConflict, other 4xx → kInvalidData. The message names
// `what` (e.g. "source GET Patient?...") and the OperationOutcome
// diagnostics when the body has them; never the body itself.
base::Error ErrorFromResponse(std::string_view what, const Response& response,
                              base::Instant now);

// Retry-After as delta-seconds or HTTP-date, relative to `now`. Returns the
// raw delay (possibly huge); the retry policy clamps it.
std::optional<base::Millis> ParseRetryAfter(std::string_view value, base::Instant now);

// "scheme://host:port" of an absolute URL, lower-cased, default port made explicit.
std::string OriginOf(std::string_view url);

struct CurlOptions {
  std::string user_agent = "fhir-migrate/0.1";
  bool verify_tls = true;         // never off unless the operator says `insecure`
  std::string ca_bundle;          // empty: system default
  size_t max_error_body = 1 << 20;  // bytes kept of a non-2xx body
  size_t max_header_bytes = 256 << 10;  // larger response headers are refused
  // http.timeout: when > 0, caps every request's connect timeout, and the
  // whole-exchange timeout of every request whose body is not streamed
  // (searches, Bundles, polls, metadata). Streamed downloads keep theirs: a
  // large export file may take longer.
  base::Millis request_timeout{0};
};

// libcurl with keep-alive connections shared across threads, HTTP/2 where
// offered, gzip, streaming bodies.
std::unique_ptr<Transport> NewCurlTransport(const CurlOptions& options);

}  // namespace fm::http
