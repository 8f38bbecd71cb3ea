#include <cstdio>
#include <map>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log.h"

namespace fm::cli {
namespace {

std::string Quote(const std::string& s) { return "\"" + JsonEscape(s) + "\""; }
std::string OptInstant(const std::optional<base::Instant>& t) {
  return t ? Quote(base::FormatInstant(*t)) : "null";
}

}  // namespace

int CmdStatus(const Context& ctx) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  if (auto s = OpenStore(*app, /*read_only=*/true); !s.ok()) return Report("status", s.error());
  auto& store = *app->store;
  auto state = store.GetMigration();
  auto windows = store.ListWindows();
  auto totals = store.TotalCounts();
  auto failures = store.ListFailures(false, 10'000);
  auto failure_count = store.CountFailures(false);
  if (!state.ok()) return Report("status", state.error());
  if (!windows.ok()) return Report("status", windows.error());
  if (!totals.ok()) return Report("status", totals.error());
  if (!failures.ok()) return Report("status", failures.error());
  if (!failure_count.ok()) return Report("status", failure_count.error());
  auto last_check = store.LastCheck("surface");

  base::Instant now = app->clock->Now();
  std::map<std::string, int> by_status;
  for (const char* s : {"planned", "extracting", "extracted", "loading", "loaded", "failed"}) {
    by_status[s] = 0;
  }
  for (const auto& w : *windows) ++by_status[store::WindowStatusName(w.status)];
  std::map<std::string, int64_t> reasons;
  for (const auto& f : *failures) ++reasons[std::to_string(f.http_status) + " " + f.reason];
  std::optional<int64_t> lag_seconds;
  if (state->watermark) lag_seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *state->watermark).count();

  if (ctx.format == "json") {
    std::string out = "{\"schema\":\"fhir-migrate.status/1\"";
    out += ",\"now\":" + Quote(base::FormatInstant(now));
    out += ",\"start\":" + OptInstant(state->start);
    out += ",\"watermark\":" + OptInstant(state->watermark);
    out += ",\"lag_seconds\":" + (lag_seconds ? std::to_string(*lag_seconds) : "null");
    out += ",\"last_success_at\":" + OptInstant(state->last_success_at);
    out += ",\"halted\":" + std::string(state->halted ? "true" : "false");
    out += ",\"halt_reason\":" + (state->halted ? Quote(state->halt_reason) : "null");
    out += ",\"windows\":{\"total\":" + std::to_string(windows->size());
    for (const auto& [name, n] : by_status) out += ",\"" + name + "\":" + std::to_string(n);
    out += "},\"types\":[";
    bool first = true;
    for (const auto& t : *totals) {
      out += std::string(first ? "" : ",") + "{\"type\":" + Quote(t.resource_type) +
             ",\"extracted\":" + std::to_string(t.extracted) + ",\"loaded\":" + std::to_string(t.loaded) +
             ",\"failed\":" + std::to_string(t.failed) + "}";
      first = false;
    }
    out += "],\"failures\":{\"unresolved\":" + std::to_string(*failure_count) + ",\"by_reason\":[";
    first = true;
    for (const auto& [reason, n] : reasons) {
      out += std::string(first ? "" : ",") + "{\"reason\":" + Quote(reason) + ",\"count\":" + std::to_string(n) + "}";
      first = false;
    }
    out += "]},\"last_check\":";
    if (last_check.ok() && *last_check) {
      const auto& c = **last_check;
      out += "{\"kind\":" + Quote(c.kind) + ",\"at\":" + Quote(base::FormatInstant(c.at)) +
             ",\"passed\":" + (c.passed ? "true" : "false") + "}";
    } else {
      out += "null";
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
    return kExitOk;
  }

  std::printf("watermark:    %s", state->watermark ? base::FormatInstant(*state->watermark).c_str() : "none yet");
  if (lag_seconds) std::printf(" (lag %s)", base::FormatDuration(base::Millis(*lag_seconds * 1000)).c_str());
  std::printf("\n");
  std::printf("last success: %s\n", state->last_success_at ? base::FormatInstant(*state->last_success_at).c_str() : "never");
  if (state->halted) std::printf("HALTED:       %s\n", state->halt_reason.c_str());
  std::printf("windows:      %zu (", windows->size());
  bool first = true;
  for (const auto& [name, n] : by_status) {
    if (!n) continue;
    std::printf("%s%d %s", first ? "" : ", ", n, name.c_str());
    first = false;
  }
  std::printf(")\n");
  std::printf("\n%-24s %12s %12s %10s\n", "type", "extracted", "loaded", "failed");
  int64_t e = 0, l = 0, f = 0;
  for (const auto& t : *totals) {
    std::printf("%-24s %12lld %12lld %10lld\n", t.resource_type.c_str(),
                static_cast<long long>(t.extracted), static_cast<long long>(t.loaded), static_cast<long long>(t.failed));
    e += t.extracted, l += t.loaded, f += t.failed;
  }
  std::printf("%-24s %12lld %12lld %10lld\n", "total", static_cast<long long>(e),
              static_cast<long long>(l), static_cast<long long>(f));
  std::printf("\nfailures:     %lld unresolved\n", static_cast<long long>(*failure_count));
  for (const auto& [reason, n] : reasons) std::printf("  %6lld  %s\n", static_cast<long long>(n), reason.c_str());
  if (last_check.ok() && *last_check) {
    std::printf("last check:   %s at %s: %s\n", (*last_check)->kind.c_str(),
                base::FormatInstant((*last_check)->at).c_str(), (*last_check)->passed ? "passed" : "FAILED");
  }
  return kExitOk;
}

}  // namespace fm::cli
