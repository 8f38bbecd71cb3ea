// Azurite (the Azure Storage emulator, npm azurite 3.35.0 in tests/servers)
// with only its Blob service, on a free loopback port, in memory, without
// telemetry. Started in the constructor, stopped (SIGTERM, then SIGKILL) in
// the destructor. Account: the published development account.
#pragma once

#include <memory>
#include <string>

#include "tests/harness/process.h"

namespace fm::harness {

class Azurite {
 public:
  Azurite();
  ~Azurite();

  static constexpr const char* kAccount = "devstoreaccount1";
  static constexpr const char* kKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

  int port() const { return port_; }
  // Path-style account endpoint: http://127.0.0.1:PORT/devstoreaccount1
  std::string blob_endpoint() const;
  std::string log() const;

 private:
  std::string dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

}  // namespace fm::harness
