// Child processes for tests: the real fhir-migrate binary, the Node test
// servers, the data generator. A Process is killed (SIGKILL) and reaped when
// destroyed unless it already exited.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fm::harness {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (overrides) the parent's
  std::string stdout_path;                 // "" → /dev/null
  std::string stderr_path;                 // "" → same as stdout_path
  std::string cwd;
};

class Process {
 public:
  explicit Process(const SpawnOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Sends a signal; the process is reaped by Wait.
  void Signal(int sig);
  // Waits up to `timeout`; returns the exit code (128+signal when killed) or
  // nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs to completion (killed after `timeout`, exit code then 124).
RunResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::minutes(10));

std::string ReadFile(const std::string& path);
std::string TempDir(const std::string& prefix);

// Paths of the build and source trees (from FM_BINARY_DIR / FM_SOURCE_DIR).
std::string SourceDir();
std::string BinaryDir();
std::string FhirMigrateBinary();
std::string FhirgenBinary();

}  // namespace fm::harness
