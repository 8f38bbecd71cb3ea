#include "http/counting_transport.h"

namespace fm::http {

void CountingTransport::AddServer(std::string name, std::string base_url) {
  base::MutexLock lock(mu_);
  servers_.emplace_back(std::move(base_url), std::move(name));
}

namespace {

// `url` lies under `base`: it starts with it, on a path boundary.
bool UnderBase(const std::string& url, const std::string& base) {
  if (url.size() < base.size() || url.compare(0, base.size(), base) != 0) return false;
  return url.size() == base.size() || base.empty() || base.back() == '/' ||
         url[base.size()] == '/' || url[base.size()] == '?';
}

}  // namespace

base::Result<Response> CountingTransport::Send(const Request& request) {
  auto response = inner_.Send(request);
  std::string server = "other";
  base::MutexLock lock(mu_);
  for (const auto& [base, name] : servers_) {
    if (UnderBase(request.url, base)) {
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
  base::MutexLock lock(mu_);
  return counts_;
}

int64_t CountingTransport::bytes_received() const {
  base::MutexLock lock(mu_);
  return bytes_;
}

}  // namespace fm::http
