#include "tests/harness/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fm::harness {
namespace {

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Program(const std::vector<std::string>& argv) { return argv.empty() ? "?" : argv[0]; }

// The program and its last arguments (the subcommand, after the -o overrides).
std::string CommandLine(const std::vector<std::string>& argv) {
  std::string out = Program(argv);
  size_t first = argv.size() > 4 ? argv.size() - 4 : 1;
  if (first > 1) out += " ...";
  for (size_t i = first; i < argv.size(); ++i) out += " " + argv[i].substr(0, 60);
  return out;
}

// The parent's environment with `extra` added (overriding).
std::vector<std::string> Environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string SanitizerReport(std::string_view output) {
  size_t first = std::string_view::npos;
  for (std::string_view marker : kSanitizerMarkers) first = std::min(first, output.find(marker));
  if (first == std::string_view::npos) return "";
  size_t start = output.rfind('\n', first);
  start = start == std::string_view::npos ? 0 : start + 1;
  size_t end = start;
  for (int lines = 0; lines < 40 && end != std::string_view::npos; ++lines) {
    end = output.find('\n', end + 1);
  }
  return std::string(output.substr(start, end == std::string_view::npos ? end : end - start));
}

bool IsProjectBinary(const std::string& program) {
  std::error_code ec;
  auto dir = std::filesystem::weakly_canonical(BinaryDir(), ec);
  if (ec) return false;
  auto path = std::filesystem::weakly_canonical(program, ec);
  if (ec) return false;
  auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

void CheckChildOutput(const std::vector<std::string>& argv, std::string_view stderr_text) {
  if (argv.empty() || !IsProjectBinary(argv[0])) return;
  std::string report = SanitizerReport(stderr_text);
  if (!report.empty()) {
    ADD_FAILURE() << "sanitizer report from the child " << argv[0]
                  << " (a failure whatever its exit code):\n"
                  << report;
  }
}

Process::Process(const SpawnOptions& options) : argv_(options.argv) {
  std::string out_path = options.stdout_path.empty() ? "/dev/null" : options.stdout_path;
  std::string err_path = options.stderr_path.empty() ? out_path : options.stderr_path;
  if (err_path == "/dev/null" && IsProjectBinary(Program(argv_))) {
    // The test does not want stderr, the harness does: to look for reports.
    owned_stderr_dir_ = TempDir("fm_child");
    err_path = owned_stderr_dir_ + "/stderr";
  }
  if (err_path != "/dev/null") stderr_path_ = err_path;

  std::vector<std::string> env_strings = Environment(options.env);
  std::vector<char*> envp = Pointers(env_strings);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv = Pointers(args);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err =
        err_path == out_path ? out : open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    int status = 0;
    if (waitpid(pid_, &status, 0) == pid_) exit_code_ = ExitCodeOf(status);
  }
  CheckOutputOnce();
  if (pid_ > 0 && !exit_seen_ && ignore_reason_.empty() && !::testing::Test::HasFailure()) {
    ADD_FAILURE() << "nothing checked how `" << CommandLine(argv_) << "`"
                  << " ended: look at what Wait() returns, or say why it does not matter "
                     "with IgnoreExitCode(\"...\")";
  }
  if (!owned_stderr_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(owned_stderr_dir_, ec);
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

std::optional<int> Process::Reap(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = ExitCodeOf(status);
      kill(-pid_, SIGKILL);  // stray children of the group
      CheckOutputOnce();
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  auto code = Reap(timeout);
  if (code) exit_seen_ = true;
  return code;
}

bool Process::Running() { return !Reap(std::chrono::milliseconds(0)).has_value(); }

void Process::CheckOutputOnce() {
  if (output_checked_ || !exit_code_ || stderr_path_.empty()) return;
  output_checked_ = true;
  CheckChildOutput(argv_, ReadFile(stderr_path_));
}

struct ExitCode::Obligation {
  std::string command;
  int value = -1;
  bool checked = false;
  std::string ignored_because;
  ~Obligation() {
    if (!checked && ignored_because.empty() && !::testing::Test::HasFailure()) {
      ADD_FAILURE() << "nothing checked the exit code (" << value << ") of `" << command
                    << "`: compare RunResult::exit_code, or say why it does not matter with "
                       "IgnoreExitCode(\"...\")";
    }
  }
};

ExitCode::ExitCode(int value, std::string command)
    : value_(value), obligation_(std::make_shared<Obligation>()) {
  obligation_->command = std::move(command);
  obligation_->value = value;
}

ExitCode::operator int() const {
  if (obligation_) obligation_->checked = true;
  return value_;
}

void RunResult::IgnoreExitCode(std::string_view reason) {
  if (exit_code.obligation_) exit_code.obligation_->ignored_because = std::string(reason);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

RunResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::milliseconds timeout) {
  std::string dir = TempDir("fm_run");
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.stdout_path = dir + "/out";
  o.stderr_path = dir + "/err";
  int code = 124;
  {
    Process p(o);
    p.IgnoreExitCode("Run hands the code to its caller, who must check it");
    if (auto exited = p.Wait(timeout)) code = *exited;
  }  // checks the child's stderr
  RunResult result;
  result.exit_code = ExitCode(code, CommandLine(argv));
  result.out = ReadFile(dir + "/out");
  result.err = ReadFile(dir + "/err");
  std::filesystem::remove_all(dir);
  return result;
}

RunResult RunOnTerminal(const std::vector<std::string>& argv, int columns, int rows,
                        std::chrono::milliseconds timeout) {
  std::vector<std::string> args = argv;
  std::vector<char*> args_p = Pointers(args);
  int master = -1;
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(columns);
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) throw std::runtime_error("forkpty failed");
  if (pid == 0) {
    ::execv(args_p[0], args_p.data());
    ::_exit(127);
  }
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{master, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EIO once the child closed the terminal
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master);
  r.exit_code = ExitCode(timed_out ? 124 : ExitCodeOf(status), CommandLine(argv));
  CheckChildOutput(argv, r.out);
  return r;
}

std::string SourceDir() {
  const char* d = std::getenv("FM_SOURCE_DIR");
  return d ? d : ".";
}

std::string BinaryDir() {
  const char* d = std::getenv("FM_BINARY_DIR");
  return d ? d : ".";
}

std::string FhirMigrateBinary() { return BinaryDir() + "/src/cli/fhir-migrate"; }
std::string FhirgenBinary() { return BinaryDir() + "/tools/fhirgen/fhirgen"; }

}  // namespace fm::harness
