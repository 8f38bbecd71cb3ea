// Child processes for tests: the real fhir-migrate binary, the Node test
// servers, the data generator. A Process is killed (SIGKILL) and reaped when
// destroyed unless it already exited.
//
// What the harness checks on every child, once, so that no test can forget:
// - A project binary (one under the build tree: fhir-migrate, fhirgen, ...)
//   fails the running test when its stderr holds a sanitizer report
//   (kSanitizerMarkers), whatever its exit code: a sanitizer abort exits 134,
//   which an "exits non-zero" check would take for the failure it expected.
// - Every child's exit code is checked: a RunResult whose exit_code was never
//   read, or a Process whose Wait() result was never had, fails the test when
//   it goes away, unless the test said why the code does not matter
//   (IgnoreExitCode("reason")).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace fm::harness {

// The first line of every report of AddressSanitizer, LeakSanitizer,
// UndefinedBehaviorSanitizer and ThreadSanitizer.
inline constexpr std::string_view kSanitizerMarkers[] = {
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
    "runtime error:", "WARNING: ThreadSanitizer"};

// The first sanitizer report in `output` (from the start of its line, at most
// 40 lines), or "" when there is none.
std::string SanitizerReport(std::string_view output);

// Whether `program` was built by this project (it lies under BinaryDir()).
bool IsProjectBinary(const std::string& program);

// The check every child run gets: when argv[0] is a project binary and
// `stderr_text` holds a sanitizer report, the running test fails (a
// non-fatal failure naming the binary and quoting the report).
void CheckChildOutput(const std::vector<std::string>& argv, std::string_view stderr_text);

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
  // Kills a child still running, reaps it, checks its stderr (see above) and,
  // unless the test failed already, that its exit was looked at.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Sends a signal; the process is reaped by Wait.
  void Signal(int sig);
  // Waits up to `timeout`; returns the exit code (128+signal when killed) or
  // nullopt on timeout. A returned code counts as checked.
  [[nodiscard]] std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();
  // The way this child ends does not matter to the test (a server the test
  // stops, a run it kills at a random instant): says why.
  void IgnoreExitCode(std::string reason) { ignore_reason_ = std::move(reason); }

 private:
  std::optional<int> Reap(std::chrono::milliseconds timeout);
  void CheckOutputOnce();

  std::vector<std::string> argv_;
  std::string stderr_path_;       // "" when nothing was captured
  std::string owned_stderr_dir_;  // a temp dir for stderr the test did not ask for
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  bool exit_seen_ = false;
  bool output_checked_ = false;
  std::string ignore_reason_;
};

// The exit code of a finished child. Reading it (comparing it, converting it
// to int) is checking it; when the last copy of a code nobody read goes away,
// the test fails, unless RunResult::IgnoreExitCode said why it does not matter.
class ExitCode {
 public:
  ExitCode() = default;
  ExitCode(int value, std::string command);
  operator int() const;  // NOLINT: reading the code is the point
  friend std::ostream& operator<<(std::ostream& out, const ExitCode& code) {
    return out << code.value_;
  }

 private:
  friend struct RunResult;
  struct Obligation;
  int value_ = -1;
  std::shared_ptr<Obligation> obligation_;
};

struct RunResult {
  ExitCode exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
  // The exit code does not matter to this test: says why.
  void IgnoreExitCode(std::string_view reason);
};

// Runs to completion (killed after `timeout`, exit code then 124).
RunResult Run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::minutes(10));

// Runs to completion on a pseudo-terminal of `columns` x `rows`; `out` is all
// it wrote to the terminal (stdout and stderr), `err` stays empty.
// Killed after `timeout` (exit code then 124).
RunResult RunOnTerminal(const std::vector<std::string>& argv, int columns = 140, int rows = 40,
                        std::chrono::milliseconds timeout = std::chrono::minutes(10));

std::string ReadFile(const std::string& path);
std::string TempDir(const std::string& prefix);

// Paths of the build and source trees (from FM_BINARY_DIR / FM_SOURCE_DIR).
std::string SourceDir();
std::string BinaryDir();
std::string FhirMigrateBinary();
std::string FhirgenBinary();

}  // namespace fm::harness
