#include <cstdio>

#include "base/strings.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "migrate/source_probe.h"

namespace fm::cli {
namespace {

void PrintServer(const fhir::Client& client, const fhir::Capabilities& caps) {
  std::printf("%-11s %s\n", (client.name() + ":").c_str(),
              base::RedactUrl(client.base_url()).c_str());
  std::printf(
      "            FHIR %s, %s, %zu resource types; $export %s, $import %s\n",
      caps.fhir_version.c_str(), caps.software.empty() ? "unknown software" : caps.software.c_str(),
      caps.resource_types.size(), caps.system_export ? "yes" : "no", caps.import ? "yes" : "no");
}

}  // namespace

int CmdCheck(const Context& ctx) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  std::printf("config:     %s\n", ConfigOrigin(app->config).c_str());
  auto servers = CheckServers(*app);
  if (!servers.ok()) return Report("check", servers.error());
  PrintServer(*app->source, servers->source);
  PrintServer(*app->destination, servers->destination);
  if (auto s =
          CheckTypesKnown(app->config.migration.plan.types, servers->source, "migration.types");
      !s.ok()) {
    return Report("check", s.error());
  }

  const auto& plan = app->config.migration.plan;
  migrate::FhirSourceProbe probe(*app->source, plan.types);
  auto types = probe.TypesWithData();
  if (!types.ok()) return Report("source", types.error());
  std::printf("strategy:   extract by search, load by REST %s Bundles of %d, %d in flight\n",
              app->config.migration.rest.transaction ? "transaction" : "batch",
              app->config.migration.rest.batch_size, app->config.migration.rest.concurrency);
  std::printf("types:      %s\n", types->empty() ? "(none with data)" : base::Join(*types, ", ").c_str());
  std::optional<base::Instant> start = plan.start;
  if (!start && !types->empty()) {
    auto oldest = probe.Oldest(*types);
    if (!oldest.ok()) return Report("source", oldest.error());
    start = *oldest;
  }
  base::Instant horizon = app->clock->Now() - plan.safety_lag;
  if (plan.end && *plan.end < horizon) horizon = *plan.end;
  if (start) {
    auto span = horizon - *start;
    int64_t windows = span.count() <= 0 ? 0 : (span.count() + plan.window.count() - 1) / plan.window.count();
    std::printf("plan:       %s .. %s in windows of %s (about %lld windows before splitting)\n",
                base::FormatInstant(*start).c_str(), base::FormatInstant(horizon).c_str(),
                base::FormatDuration(plan.window).c_str(), static_cast<long long>(windows));
  } else {
    std::printf("plan:       nothing to migrate yet\n");
  }
  std::printf("state:      %s\n", app->config.state_path.c_str());
  if (app->config.insecure) std::printf("WARNING:    http.insecure is on: TLS is not verified\n");
  for (const auto& w : app->config.warnings) std::printf("WARNING:    %s\n", w.c_str());
  return kExitOk;
}

}  // namespace fm::cli
