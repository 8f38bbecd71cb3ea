#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace fm::cli {

int CmdFailuresList(const Context& ctx, size_t limit) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  if (auto s = OpenStore(*app, true); !s.ok()) return Report("failures", s.error());
  auto failures = app->store->ListFailures(false, limit);
  if (!failures.ok()) return Report("failures", failures.error());
  if (ctx.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < failures->size(); ++i) {
      const auto& f = (*failures)[i];
      out += std::string(i ? "," : "") + "{\"id\":" + std::to_string(f.id) +
             ",\"window\":" + std::to_string(f.window_id) + ",\"stage\":\"" + JsonEscape(f.stage) +
             "\",\"type\":\"" + JsonEscape(f.resource_type) + "\",\"resource_id\":\"" +
             JsonEscape(f.resource_id) + "\",\"http_status\":" + std::to_string(f.http_status) +
             ",\"reason\":\"" + JsonEscape(f.reason) + "\",\"at\":\"" +
             base::FormatInstant(f.at) + "\"}";
    }
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  std::printf("%-6s %-7s %-8s %-40s %-6s %s\n", "id", "window", "stage", "resource", "status", "reason");
  for (const auto& f : *failures) {
    std::printf("%-6lld %-7lld %-8s %-40s %-6d %s\n", static_cast<long long>(f.id),
                static_cast<long long>(f.window_id), f.stage.c_str(),
                (f.resource_type + "/" + f.resource_id).c_str(), f.http_status, f.reason.c_str());
  }
  if (failures->empty()) std::printf("no unresolved failures\n");
  return kExitOk;
}

int CmdClearHalt(const Context& ctx, int64_t retry_window) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  if (auto s = OpenStore(*app, false); !s.ok()) return Report("clear-halt", s.error());
  auto& store = *app->store;
  base::Status s = store.Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(auto state, store.GetMigration());
    bool was_halted = state.halted;
    state.halted = false;
    state.halt_reason.clear();
    FM_TRY_STATUS(store.PutMigration(state));
    FM_ASSIGN_OR_RETURN(auto windows, store.ListWindows());
    for (auto& w : windows) {
      // The halting window (and any window named) gets a fresh set of attempts.
      bool named = retry_window != 0 && w.id == retry_window;
      if (named || (was_halted && w.status == store::WindowStatus::kFailed)) {
        w.attempts = 0;
        w.not_before.reset();
        FM_TRY_STATUS(store.UpdateWindow(w));
      }
    }
    std::printf(was_halted ? "halt cleared; `fhir-migrate run` resumes\n" : "not halted\n");
    return base::Ok();
  });
  if (!s.ok()) return Report("clear-halt", s.error());
  return kExitOk;
}

}  // namespace fm::cli
