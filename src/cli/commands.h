// One function per subcommand; each returns the process exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/config.h"
#include "cli/log.h"

namespace fm::cli {

struct Context {
  ConfigSources sources;
  std::string format = "text";  // status/verify/failures output: text | json
  std::string http_listen;        // run --http HOST:PORT ("" = no operator endpoints)
  std::string progress = "auto";  // run --progress auto|bars|plain|none
};

int CmdInit(const std::string& path, bool force);
int CmdCheck(const Context& ctx);
int CmdRun(const Context& ctx, bool follow);
int CmdStatus(const Context& ctx);
int CmdFailuresList(const Context& ctx, size_t limit);
int CmdClearHalt(const Context& ctx, int64_t retry_window);
// `verify` flags (docs/verification.md).
struct VerifyFlags {
  bool surface = false;
  int deep = 0;                          // --deep N; 0 = off
  bool full = false;
  bool fix_deletes = false;
  bool apply = false;
  uint64_t seed = 0;
  bool seed_set = false;
  bool before_watermark = false;         // default: on when the state has a watermark
  bool no_before_watermark = false;
  std::string before;                    // --before INSTANT (overrides the watermark)
};
int CmdVerify(const Context& ctx, const VerifyFlags& flags);

// Loads the config or prints the error; nullopt means "exit with kExitUsage".
std::optional<Config> LoadConfigOrReport(const ConfigSources& sources);

// Prints a one-line error for `what` and returns its exit code.
int Report(const std::string& what, const base::Error& error);

}  // namespace fm::cli
