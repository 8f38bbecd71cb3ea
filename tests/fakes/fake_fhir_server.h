// An in-process FHIR server behind http::FakeTransport: enough of search,
// batch and read to run the engine against it with a manual clock. Not a
// substitute for the real-server tests; it is for fast scenarios and faults.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "env/clock.h"
#include "http/transport.h"

namespace fm::testing {

class FakeFhirServer {
 public:
  // `base_url` like "http://source.test/fhir".
  FakeFhirServer(std::string base_url, env::Clock& clock);

  const std::string& base_url() const { return base_url_; }
  // Routes: GET metadata, GET [type]?..., GET [type]/[id], POST [base] (batch),
  // PUT [type]/[id], DELETE [type]/[id]. Thread-safe.
  base::Result<http::Response> Handle(const http::Request& request);

  // Stores a resource as is (keeps its meta.lastUpdated): seeding.
  void Seed(const std::string& resource_json);
  // Creates or updates with lastUpdated = clock now (like a client write).
  void Write(const std::string& resource_json);
  // Deletes (recorded in type history with the clock's time, like a server).
  void Remove(const std::string& type, const std::string& id);

  std::optional<std::string> Get(const std::string& type, const std::string& id) const;
  // "Type/id" → canonical JSON of every stored resource.
  std::map<std::string, std::string> Snapshot() const;
  size_t size() const;

  // Hook to answer a request differently (fault injection); return nullopt to
  // fall through to normal handling.
  using Override = std::function<std::optional<http::Response>(const http::Request&)>;
  void SetOverride(Override o);
  int64_t requests() const;

  // The entries of a batch are independent and a server may apply them in any
  // order; reversed, a test sees what a loader that relies on the order does.
  void SetApplyBatchesReversed(bool reversed);
  // Every write applied through PUT, DELETE or a batch, in the order applied:
  // "PUT Patient/p1 3" (the versionId of the body as sent), "DELETE Patient/p1".
  std::vector<std::string> WriteLog() const;

 private:
  struct Stored {
    std::string json;  // compact
    int64_t last_updated_ms = 0;
    int version = 1;
  };
  http::Response Search(const std::string& type, const std::string& query);
  http::Response Batch(const std::string& body);
  http::Response History(const std::string& type, const std::string& query);
  std::pair<int, std::string> PutLocked(const std::string& type, const std::string& id,
                                        const std::string& body);
  struct Parsed;  // a resource parsed once (nlohmann::json), defined in the .cc
  std::pair<int, std::string> PutLocked(const std::string& type, const std::string& id,
                                        Parsed resource);
  void StoreLocked(const std::string& json, bool keep_meta);
  void StoreLocked(Parsed resource, bool keep_meta);

  std::string base_url_;
  env::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Stored>> data_;
  struct Tombstone {
    std::string type, id;
    int64_t at_ms = 0;
  };
  std::vector<Tombstone> tombstones_;  // oldest first
  Override override_;
  int64_t requests_ = 0;
  bool batches_reversed_ = false;
  std::vector<std::string> write_log_;
};

}  // namespace fm::testing
