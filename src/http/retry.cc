#include "http/retry.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>

#include "base/strings.h"
#include "http/response_text.h"

namespace fm::http {
namespace {

bool IsRetryableStatus(int status) {
  return status == 429 || status == 408 || (status >= 500 && status <= 599);
}

// Counts what the caller's sink received, so a half-streamed body is never
// fetched again from the start (the caller resumes with Range instead).
struct CountingSink {
  BodySink sink;
  std::atomic<uint64_t> bytes{0};
};

class RetryingTransport : public Transport {
 public:
  RetryingTransport(Transport& inner, env::Clock& clock, RetryOptions options,
                    RetryListener listener, uint64_t jitter_seed)
      : inner_(inner),
        clock_(clock),
        options_(options),
        listener_(std::move(listener)),
        rng_(jitter_seed) {}

  base::Result<Response> Send(const Request& request) override {
    auto counter = std::make_shared<CountingSink>();
    const Request* to_send = &request;
    Request counted;  // a copy only when there is a sink to wrap
    if (request.on_body) {
      counted = request;
      counter->sink = request.on_body;
      counted.on_body = [counter](std::string_view chunk) {
        counter->bytes += chunk.size();
        return counter->sink(chunk);
      };
      to_send = &counted;
    }
    const int max_attempts = std::max(1, options_.max_attempts);
    for (int attempt = 1;; ++attempt) {
      base::Result<Response> result = inner_.Send(*to_send);
      if (attempt >= max_attempts || counter->bytes > 0) return result;
      RetryEvent event;
      event.url = base::RedactUrl(request.url);
      event.attempt = attempt;
      if (result.ok()) {
        int status = result->status;
        if (!IsRetryableStatus(status)) return result;
        event.http_status = status;
        event.reason = "HTTP " + std::to_string(status);
        // The server's own words: "HTTP 503" alone does not tell a throttled
        // server from one that is down.
        std::string detail = DescribeErrorBody(result->body);
        if (!detail.empty()) event.reason += ": " + detail;
        std::optional<base::Millis> requested;
        const std::string* header = FindHeader(result->headers, "Retry-After");
        if (header && (status == 429 || status == 503)) {
          requested = ParseRetryAfter(*header, clock_.Now());
        }
        PlanDelay(event, requested);
      } else {
        const base::Error& error = result.error();
        if (!base::IsRetryable(error.kind)) return result;
        event.http_status = error.http_status;
        event.reason = error.message;
        PlanDelay(event, error.retry_after);
      }
      if (listener_) listener_(event);
      if (!clock_.SleepFor(event.delay)) {
        return base::MakeError(base::ErrorKind::kCancelled,
                               "interrupted while waiting " + base::FormatDuration(event.delay) +
                                   " to retry " + event.url + " (" + event.reason + ")");
      }
    }
  }

 private:
  void PlanDelay(RetryEvent& event, std::optional<base::Millis> requested) {
    if (!requested) {
      event.delay = Jittered(BackoffDelay(options_, event.attempt));
      return;
    }
    event.requested = std::max(*requested, base::Millis(0));
    event.clamped = event.requested > options_.max_retry_after;
    event.delay = event.clamped ? options_.max_retry_after : event.requested;
  }

  base::Millis Jittered(base::Millis delay) {
    if (options_.jitter <= 0) return delay;
    uint64_t bits;
    {
      std::lock_guard lock(rng_mu_);
      bits = rng_();
    }
    // Uniform in [-1, 1) from the top 53 bits: the same on every platform.
    double unit = static_cast<double>(bits >> 11) * 0x1.0p-53 * 2.0 - 1.0;
    double scaled = static_cast<double>(delay.count()) * (1.0 + options_.jitter * unit);
    return base::Millis(std::max<int64_t>(0, std::llround(scaled)));
  }

  Transport& inner_;
  env::Clock& clock_;
  const RetryOptions options_;
  const RetryListener listener_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace

base::Millis BackoffDelay(const RetryOptions& options, int attempt) {
  base::Millis delay = std::max(options.initial_backoff, base::Millis(0));
  for (int i = 1; i < attempt && delay < options.max_backoff; ++i) {
    delay = delay > options.max_backoff / 2 ? options.max_backoff : delay * 2;
  }
  return std::min(delay, options.max_backoff);
}

std::unique_ptr<Transport> NewRetryingTransport(Transport& inner, env::Clock& clock,
                                                RetryOptions options, RetryListener listener,
                                                uint64_t jitter_seed) {
  return std::make_unique<RetryingTransport>(inner, clock, options, std::move(listener),
                                             jitter_seed);
}

}  // namespace fm::http
