// A real FHIR server for tests: Medplum's FHIR router behind the project's
// Node adapter (tests/servers/fhir-server.mjs), on a free loopback port.
// Started in the constructor, stopped (SIGTERM, then SIGKILL) in the destructor.
#pragma once

#include <memory>
#include <string>

#include "tests/harness/process.h"

namespace fm::harness {

class FhirServer {
 public:
  explicit FhirServer(const std::string& name);
  ~FhirServer();

  int port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:PORT/fhir
  std::string log() const;       // what the server printed

  // Admin routes of the adapter.
  void LoadNdjson(const std::string& ndjson);  // keeps ids and meta
  void Reset();
  void SetFaults(const std::string& json);     // {} clears
  std::string Stats();                          // JSON

  // Plain HTTP helpers for test assertions (no retries).
  struct Reply {
    int status = 0;
    std::string body;
  };
  Reply Get(const std::string& path_and_query);
  Reply Post(const std::string& path, const std::string& body,
             const std::string& content_type = "application/fhir+json");
  Reply Put(const std::string& path, const std::string& body);
  Reply Delete(const std::string& path);

 private:
  std::string name_;
  std::string dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// The node binary (FM_NODE or `node`).
std::string NodeBinary();

}  // namespace fm::harness
