#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log.h"
#include "env/clock.h"
#include "server/status_report.h"
#include "store/state_lock.h"

namespace fm::cli {

// Reads the state file only: no server URL or credential is needed.
int CmdStatus(const Context& ctx) {
  ConfigSources sources = ctx.sources;
  sources.require_servers = false;
  auto config = LoadConfigOrReport(sources);
  if (!config) return kExitUsage;
  auto store = OpenStateFile(*config, /*read_only=*/true);
  if (!store.ok()) return Report("status", store.error());
  auto clock = env::NewSystemClock();
  auto report = server::GatherStatus(**store, clock->Now());
  if (!report.ok()) return Report("status", report.error());
  std::string out = ctx.format == "json" ? server::StatusJson(*report) : server::StatusText(*report);
  std::fputs(out.c_str(), stdout);
  if (ctx.format != "json") {
    // Who writes the migration now, if anyone (the lock is only looked at).
    auto holder = store::CurrentLockHolder(config->state_path);
    if (holder.ok() && holder->has_value()) {
      std::printf("writer:       %s\n", (*holder)->Describe().c_str());
    }
  }
  return kExitOk;
}

}  // namespace fm::cli
