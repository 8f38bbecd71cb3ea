#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log.h"
#include "server/status_report.h"

namespace fm::cli {
int CmdStatus(const Context& ctx) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  if (auto s = OpenStore(*app, /*read_only=*/true); !s.ok()) return Report("status", s.error());
  auto report = server::GatherStatus(*app->store, app->clock->Now());
  if (!report.ok()) return Report("status", report.error());
  std::string out = ctx.format == "json" ? server::StatusJson(*report) : server::StatusText(*report);
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

}  // namespace fm::cli
