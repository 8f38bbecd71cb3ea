// One function per subcommand; each returns the process exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/config.h"
#include "cli/log.h"
#include "store/state_lock.h"

namespace fm::cli {

struct Context {
  ConfigSources sources;
  std::string format = "text";  // status/verify/failures output: text | json
  std::string http_listen;        // run --http HOST:PORT ("" = no operator endpoints)
  std::string progress = "auto";  // run --progress auto|bars|plain|none
  std::string command_line;       // as typed (recorded, redacted, in the state file's lock)
};

int CmdInit(const std::string& path, bool force);
int CmdCheck(const Context& ctx);
int CmdRun(const Context& ctx, bool follow);
int CmdStatus(const Context& ctx);
int CmdFailuresList(const Context& ctx, size_t limit, bool include_resolved);
// `failures retry`: which unresolved failures to send again.
struct FailuresRetryFlags {
  std::string type;  // --type
  std::string id;    // --id (resource id)
  bool all = false;  // --all
};
int CmdFailuresRetry(const Context& ctx, const FailuresRetryFlags& flags);
// `clear-halt [--retry-window N]` and `retry --window N` (retry_command).
int CmdClearHalt(const Context& ctx, int64_t retry_window, bool retry_command);
// `verify` flags (docs/verification.md).
struct VerifyFlags {
  bool surface = false;
  int deep = 0;                          // --deep N; 0 = off
  bool full = false;
  bool fix = false;  // --fix: copy missing/different from the source
  bool fix_deletes = false;
  bool apply = false;
  bool dry_run = false;  // --dry-run: list what --fix/--fix-deletes would do
  uint64_t seed = 0;
  bool seed_set = false;
  bool before_watermark = false;         // default: on when the state has a watermark
  bool no_before_watermark = false;
  std::string before;                    // --before INSTANT (overrides the watermark)
};
int CmdVerify(const Context& ctx, const VerifyFlags& flags);

// Loads the config or prints the error; nullopt means "exit with kExitUsage".
std::optional<Config> LoadConfigOrReport(const ConfigSources& sources);

// For the commands that write a migration: takes the state file's lock
// (store::AcquireStateLock) recording this process and `ctx.command_line`.
// kLocked names the process that holds it.
base::Result<std::unique_ptr<store::StateLock>> LockStateFile(const Config& config,
                                                              const Context& ctx);

// Prints a one-line error for `what` and returns its exit code.
int Report(const std::string& what, const base::Error& error);

}  // namespace fm::cli
