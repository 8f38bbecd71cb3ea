// In-process fakes of the Transport port, for unit tests and fault injection.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

#include "http/transport.h"

namespace fm::http {

// Answers every request with a handler; records requests.
// A body the handler returns goes through DeliverBody, so a 2xx body streams
// to on_body when set; a handler that called DeliverBody itself is not
// delivered twice (its body is already empty).
class FakeTransport : public Transport {
 public:
  using Handler = std::function<base::Result<Response>(const Request&)>;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}
  base::Result<Response> Send(const Request& request) override;
  std::vector<Request> requests() const;
  size_t request_count() const;

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<Request> requests_;
};

// Delivers a 2xx body the way a real transport would: to the sink in chunks
// of `chunk` bytes when one is set, else into Response::body.
base::Result<Response> DeliverBody(const Request& request, Response response, size_t chunk = 4096);

// Wraps a transport and injects faults queued by the test, one per request,
// before falling through to the inner transport.
class FaultyTransport : public Transport {
 public:
  enum class Fault {
    kStatus,       // answer with `status` (and Retry-After header if set)
    kReset,        // connection reset before any byte
    kResetMidBody, // deliver half the real body to the sink, then fail
  };
  struct Injection {
    Fault fault = Fault::kStatus;
    int status = 503;
    std::string retry_after;  // header value, empty for none
    std::string url_contains; // only requests whose URL contains this
  };
  explicit FaultyTransport(Transport& inner) : inner_(inner) {}
  void Inject(Injection injection);
  base::Result<Response> Send(const Request& request) override;
  size_t injected() const;

 private:
  Transport& inner_;
  mutable std::mutex mu_;
  std::deque<Injection> queue_;
  size_t injected_ = 0;
};

}  // namespace fm::http
