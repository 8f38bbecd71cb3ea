#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log_sink.h"
#include "migrate/planner.h"
#include "migrate/rest_loader.h"
#include "migrate/runner.h"
#include "migrate/search_extractor.h"
#include "migrate/source_probe.h"

namespace fm::cli {

int CmdRun(const Context& ctx, bool follow) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  Log log(config->log_format, config->log_level);
  LogSink log_sink(log);
  migrate::FanOutSink sink;
  sink.Add(&log_sink);

  auto app = BuildApp(std::move(*config), sink);
  InstallSignalHandling(*app->clock);
  if (app->config.insecure) {
    log.Warn("http.insecure is on: TLS certificates are NOT verified; anyone on the network path "
             "can read and alter patient data");
  }
  if (auto s = OpenStore(*app, /*read_only=*/false); !s.ok()) return Report("state store", s.error());

  const auto& options = app->config.migration;
  migrate::FhirSourceProbe probe(*app->source, options.plan.types);
  migrate::Planner planner(options.plan, *app->store, probe, *app->clock, sink);
  migrate::SearchExtractor extractor(*app->source, options.search, sink);
  migrate::RestLoader loader(*app->destination, *app->store, sink, *app->clock, options.rest,
                             app->source->base_url());
  migrate::Runner runner(options, *app->store, planner, extractor, loader, sink, *app->clock);

  log.Info(std::string(follow ? "following" : "catching up") + ": " + app->source->base_url() +
           " -> " + app->destination->base_url());
  auto summary = follow ? runner.Follow() : runner.RunOnce();
  if (!summary.ok()) return Report("run", summary.error());
  if (summary->source_empty) log.Info("the source holds no resources of the migrated types yet");
  std::string watermark =
      summary->watermark ? base::FormatInstant(*summary->watermark) : std::string("none");
  log.Info("run " + std::string(summary->interrupted ? "stopped" : "finished") + ": " +
           std::to_string(summary->windows_loaded) + " windows, " +
           std::to_string(summary->resources_loaded) + " resources loaded, " +
           std::to_string(summary->resources_failed) + " failed; watermark " + watermark);
  auto failures = app->store->CountFailures(false);
  if (failures.ok() && *failures > 0) {
    log.Warn(std::to_string(*failures) +
             " resources are in the failures table: see `fhir-migrate failures list`");
    return kExitWithFailures;
  }
  return kExitOk;
}

}  // namespace fm::cli
