// Retries with exponential backoff and jitter, honouring Retry-After.
#pragma once

#include <functional>
#include <memory>

#include "env/clock.h"
#include "http/transport.h"

namespace fm::http {

struct RetryOptions {
  int max_attempts = 8;                                     // total tries per request
  base::Millis initial_backoff{std::chrono::milliseconds(500)};
  base::Millis max_backoff{std::chrono::seconds(60)};
  // A Retry-After longer than this (hours, or an epoch value sent as seconds)
  // is clamped to it, and the clamp is reported through on_retry.
  base::Millis max_retry_after{std::chrono::minutes(5)};
  double jitter = 0.2;  // ±20% on computed backoff (not on Retry-After)
};

struct RetryEvent {
  std::string url;           // redacted
  int attempt = 0;           // 1 = first retry
  int http_status = 0;       // 0 for a network error
  base::Millis delay{0};
  bool clamped = false;      // the server asked for longer than max_retry_after
  base::Millis requested{0}; // what the server asked for, when it did
  std::string reason;
};

using RetryListener = std::function<void(const RetryEvent&)>;

// Retries 429, 5xx, 408 and transient network errors; never other 4xx.
// A request whose body already streamed to the sink is not retried here (the
// caller resumes with Range). Thread-safe when `inner` is.
std::unique_ptr<Transport> NewRetryingTransport(Transport& inner, env::Clock& clock,
                                                RetryOptions options,
                                                RetryListener listener = nullptr,
                                                uint64_t jitter_seed = 42);

// Computes the delay before retry number `attempt` (1-based) without jitter.
base::Millis BackoffDelay(const RetryOptions& options, int attempt);

}  // namespace fm::http
