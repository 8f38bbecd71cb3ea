// One function per subcommand; each returns the process exit code.
#pragma once

#include <string>

#include "cli/config.h"
#include "cli/log.h"

namespace fm::cli {

struct Context {
  ConfigSources sources;
  std::string format = "text";  // status/verify/failures output: text | json
};

int CmdInit(const std::string& path, bool force);
int CmdCheck(const Context& ctx);
int CmdRun(const Context& ctx, bool follow);
int CmdStatus(const Context& ctx);
int CmdFailuresList(const Context& ctx, size_t limit);
int CmdClearHalt(const Context& ctx, int64_t retry_window);
int CmdVerifySurface(const Context& ctx);

// Loads the config or prints the error; nullopt means "exit with kExitUsage".
std::optional<Config> LoadConfigOrReport(const ConfigSources& sources);

// Prints a one-line error for `what` and returns its exit code.
int Report(const std::string& what, const base::Error& error);

}  // namespace fm::cli
