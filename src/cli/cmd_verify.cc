#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "verify/surface.h"

namespace fm::cli {

int CmdVerifySurface(const Context& ctx) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  auto result = verify::SurfaceCheck(*app->source, *app->destination,
                                     app->config.migration.plan.types, std::nullopt);
  if (!result.ok()) return Report("verify", result.error());
  std::string summary = "{\"types\":[";
  for (size_t i = 0; i < result->types.size(); ++i) {
    const auto& t = result->types[i];
    summary += std::string(i ? "," : "") + "{\"type\":\"" + JsonEscape(t.type) +
               "\",\"source\":" + std::to_string(t.source) +
               ",\"destination\":" + std::to_string(t.destination) + "}";
  }
  summary += "],\"passed\":" + std::string(result->passed() ? "true" : "false") + "}";
  if (OpenStore(*app, false).ok()) {
    store::CheckRecord record;
    record.kind = "surface";
    record.at = app->clock->Now();
    record.passed = result->passed();
    record.summary_json = summary;
    (void)app->store->AddCheck(record);  // a report without a state file is still a report
  }
  if (ctx.format == "json") {
    std::printf("%s\n", summary.c_str());
  } else {
    std::printf("%-24s %12s %12s\n", "type", "source", "destination");
    int64_t s = 0, d = 0;
    for (const auto& t : result->types) {
      std::printf("%-24s %12lld %12lld%s\n", t.type.c_str(), static_cast<long long>(t.source),
                  static_cast<long long>(t.destination), t.matches() ? "" : "   MISMATCH");
      s += t.source, d += t.destination;
    }
    std::printf("%-24s %12lld %12lld\n", "total", static_cast<long long>(s), static_cast<long long>(d));
    std::printf("surface check %s\n", result->passed() ? "passed" : "FAILED");
  }
  if (!result->passed()) {
    std::string names;
    for (const auto& t : result->types) {
      if (!t.matches()) names += (names.empty() ? "" : ", ") + t.type;
    }
    std::fprintf(stderr, "fhir-migrate: verify: counts differ for %s\n", names.c_str());
    return kExitDiscrepancy;
  }
  return kExitOk;
}

}  // namespace fm::cli
