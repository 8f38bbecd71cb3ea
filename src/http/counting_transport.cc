#include "http/counting_transport.h"

namespace fm::http {

void CountingTransport::AddServer(std::string name, std::string base_url) {
  std::lock_guard<std::mutex> lock(mu_);
  servers_.emplace_back(std::move(base_url), std::move(name));
}

base::Result<Response> CountingTransport::Send(const Request& request) {
  auto response = inner_.Send(request);
  std::string server = "other";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [base, name] : servers_) {
    bool boundary = request.url.size() == base.size() || base.empty() || base.back() == '/' ||
                    request.url[base.size()] == '/' || request.url[base.size()] == '?';
    if (request.url.size() >= base.size() && request.url.compare(0, base.size(), base) == 0 &&
        boundary) {
      server = name;
      break;
    }
  }
  std::string status = response.ok() ? std::to_string(response->status) : "error";
  ++counts_[{server, status}];
  if (response.ok()) bytes_ += static_cast<int64_t>(response->body_bytes);
  return response;
}

std::map<std::pair<std::string, std::string>, int64_t> CountingTransport::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

int64_t CountingTransport::bytes_received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace fm::http
