#include "http/fake_transport.h"

#include <algorithm>

#include "base/strings.h"

namespace fm::http {
namespace {

bool IsSuccess(int status) { return status >= 200 && status <= 299; }

base::Status Feed(const BodySink& sink, std::string_view data, size_t chunk) {
  if (chunk == 0) chunk = 1;
  for (size_t offset = 0; offset < data.size(); offset += chunk) {
    FM_TRY_STATUS(sink(data.substr(offset, chunk)));
  }
  return base::Ok();
}

Response InjectedStatus(const Request& request, const FaultyTransport::Injection& injection) {
  Response response;
  response.status = injection.status;
  response.effective_url = request.url;
  if (!injection.retry_after.empty())
    SetHeader(response.headers, "Retry-After", injection.retry_after);
  SetHeader(response.headers, "Content-Type", "application/fhir+json");
  response.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                  R"("code":"transient","diagnostics":"injected fault: HTTP )" +
                  std::to_string(injection.status) + R"("}]})";
  response.body_bytes = response.body.size();
  return response;
}

}  // namespace

base::Result<Response> FakeTransport::Send(const Request& request) {
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
  }
  base::Result<Response> result = handler_(request);
  if (!result.ok()) return result;
  Response& response = result.value();
  if (response.effective_url.empty()) response.effective_url = request.url;
  // A handler may return the whole body; stream it as a real transport would.
  // Bodies the handler already delivered itself are empty by now.
  if (!response.body.empty()) return DeliverBody(request, std::move(response));
  return result;
}

std::vector<Request> FakeTransport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t FakeTransport::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

base::Result<Response> DeliverBody(const Request& request, Response response, size_t chunk) {
  response.body_bytes = response.body.size();
  if (!request.on_body || !IsSuccess(response.status)) return response;
  FM_TRY_STATUS(Feed(request.on_body, response.body, chunk));
  response.body.clear();
  return response;
}

void FaultyTransport::Inject(Injection injection) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(injection));
}

size_t FaultyTransport::injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

base::Result<Response> FaultyTransport::Send(const Request& request) {
  std::optional<Injection> injection;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Injection& i) {
      return i.url_contains.empty() || request.url.find(i.url_contains) != std::string::npos;
    });
    if (it != queue_.end()) {
      injection = std::move(*it);
      queue_.erase(it);
      ++injected_;
    }
  }
  if (!injection) return inner_.Send(request);
  switch (injection->fault) {
    case Fault::kStatus:
      return InjectedStatus(request, *injection);
    case Fault::kReset:
      return base::MakeError(base::ErrorKind::kTransient, "connection reset before any byte of " +
                                                              base::RedactUrl(request.url) +
                                                              " (injected fault)");
    case Fault::kResetMidBody:
      break;
  }
  Request buffered = request;
  buffered.on_body = nullptr;
  FM_ASSIGN_OR_RETURN(Response response, inner_.Send(buffered));
  size_t half = response.body.size() / 2;
  if (request.on_body && IsSuccess(response.status)) {
    FM_TRY_STATUS(Feed(request.on_body, std::string_view(response.body).substr(0, half), 4096));
  }
  return base::MakeError(base::ErrorKind::kTransient,
                         "connection reset after " + std::to_string(half) + " bytes of " +
                             base::RedactUrl(request.url) + " (injected fault)");
}

}  // namespace fm::http
