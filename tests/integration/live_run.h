// A real `fhir-migrate run --follow --http 127.0.0.1:0` between two test FHIR
// servers, for the tests that watch a migration while it happens (metrics,
// dashboard). The address the binary prints on stderr is parsed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/harness/process.h"
#include "tests/integration/compare.h"

namespace fm::harness {

class LiveRun {
 public:
  LiveRun(FhirServer& source, FhirServer& destination, const std::string& dir,
          const std::vector<std::string>& overrides);
  ~LiveRun();
  const std::string& base() const { return base_; }  // http://127.0.0.1:PORT
  std::string log() const;
  Process& process() { return *process_; }
  // SIGTERM, then waits (SIGKILL after 20 s): the exit code, 0 when it
  // stopped gracefully. A LiveRun the test never stopped fails the test.
  [[nodiscard]] int Stop();

 private:
  std::string dir_;
  std::unique_ptr<Process> process_;
  std::string base_;
};

// GET over plain HTTP; status 0 when the exchange failed.
struct HttpReply {
  int status = 0;
  std::string body;
};
HttpReply HttpGet(const std::string& url);

}  // namespace fm::harness
