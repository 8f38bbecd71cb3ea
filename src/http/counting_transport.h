// A Transport decorator that counts exchanges by server and HTTP status, for
// the /metrics endpoint. Servers are named by base URL prefix; a request to
// no known server counts as "other", an exchange that did not complete as
// status "error".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "http/transport.h"

namespace fm::http {

class CountingTransport : public Transport {
 public:
  explicit CountingTransport(Transport& inner) : inner_(inner) {}
  // Requests whose URL starts with `base_url` count under `name`.
  void AddServer(std::string name, std::string base_url);
  base::Result<Response> Send(const Request& request) override;

  // (server, status) → requests; status is "200", "429", ..., or "error".
  std::map<std::pair<std::string, std::string>, int64_t> Snapshot() const;
  int64_t bytes_received() const;

 private:
  Transport& inner_;
  mutable base::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> servers_ FM_GUARDED_BY(mu_);  // (base_url, name)
  std::map<std::pair<std::string, std::string>, int64_t> counts_ FM_GUARDED_BY(mu_);
  int64_t bytes_ FM_GUARDED_BY(mu_) = 0;
};

}  // namespace fm::http
