#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log_sink.h"
#include "cli/terminal_progress.h"
#include "fhir/bulk_export.h"
#include "migrate/bulk_extractor.h"
#include "migrate/conformance.h"
#include "migrate/planner.h"
#include "migrate/rest_loader.h"
#include "migrate/runner.h"
#include "migrate/search_extractor.h"
#include "migrate/source_probe.h"
#include "server/metrics.h"
#include "server/ops_server.h"

namespace fm::cli {

int CmdRun(const Context& ctx, bool follow) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  // Declared before the log so it outlives the log's write hooks.
  std::unique_ptr<TerminalProgress> progress;
  Log log(config->log_format, config->log_level);
  LogSink log_sink(log);
  migrate::FanOutSink sink;
  sink.Add(&log_sink);
  server::MetricsSink metrics;
  sink.Add(&metrics);
  if (auto options = TerminalOptionsFor(ctx.progress)) {
    progress = std::make_unique<TerminalProgress>(*options);
    sink.Add(progress.get());
    log.SetWriteHooks([p = progress.get()] { p->BeforeLogLine(); },
                      [p = progress.get()] { p->AfterLogLine(); });
  }

  auto app = BuildApp(std::move(*config), sink);
  InstallSignalHandling(*app->clock);
  if (app->config.insecure) {
    log.Warn("http.insecure is on: TLS certificates are NOT verified; anyone on the network path "
             "can read and alter patient data");
  }
  for (const auto& warning : app->config.warnings) log.Warn(warning);
  if (auto s = OpenStore(*app, /*read_only=*/false); !s.ok()) return Report("state store", s.error());
  if (auto state = app->store->GetMigration(); state.ok()) metrics.SetWatermark(state->watermark);
  std::unique_ptr<server::HttpServer> ops;
  if (!ctx.http_listen.empty()) {
    server::OpsSources sources;
    sources.metrics = &metrics;
    sources.transport = app->counting.get();
    sources.clock = app->clock.get();
    sources.status = [&app] { return server::GatherStatus(*app->store, app->clock->Now()); };
    std::string bound;
    auto started = server::StartOpsServer(std::move(sources), ctx.http_listen, &bound);
    if (!started.ok()) return Report("http", started.error());
    ops = std::move(*started);
    std::fprintf(stderr, "fhir-migrate: serving http://%s/ (/metrics, /status.json, /healthz)\n",
                 bound.c_str());
  }
  if (progress) progress->Start();

  const auto& options = app->config.migration;
  migrate::FhirSourceProbe probe(*app->source, options.plan.types);
  migrate::Planner planner(options.plan, *app->store, probe, *app->clock, sink);
  // Deletions older than the first run cannot concern anything copied.
  migrate::SearchOptions search_options = options.search;
  if (search_options.deletes) {
    auto first = app->store->GetMeta("first_run_at");
    if (first.ok() && *first) {
      if (auto t = base::ParseInstant(**first); t.ok()) search_options.deletes_after = *t;
    } else if (first.ok()) {
      search_options.deletes_after = app->clock->Now();
      (void)app->store->PutMeta("first_run_at", base::FormatInstant(*search_options.deletes_after));
    }
  }
  migrate::SearchExtractor search_extractor(*app->source, search_options, sink);
  // Bulk $export: the protocol client makes its own retry decisions, so it
  // sends through the counting transport without the retry wrapper; the
  // Authorization value comes from the source's credentials, for its origin only.
  fhir::PollOptions poll;
  poll.initial_interval = options.bulk.poll_interval;
  poll.max_interval = options.bulk.max_poll_interval;
  poll.max_retry_after = options.bulk.max_poll_interval;
  fhir::BulkExportClient bulk_client(
      "source", app->source->base_url(), *app->counting, *app->clock, poll,
      [&sink](const std::string& level, const std::string& message) { sink.OnNote(level, message); },
      SourceAuthHeader(*app));
  std::string staging_dir = options.bulk.staging_dir;
  if (staging_dir.empty()) {
    auto slash = app->config.state_path.rfind('/');
    staging_dir = (slash == std::string::npos ? std::string(".")
                                              : app->config.state_path.substr(0, slash)) +
                  "/staging";
  }
  migrate::BulkExtractor bulk_extractor(bulk_client, *app->store, *app->fs, *app->clock,
                                        options.bulk, staging_dir, sink);
  migrate::Extractor& extractor = options.extract == migrate::ExtractMode::kBulk
                                      ? static_cast<migrate::Extractor&>(bulk_extractor)
                                      : search_extractor;
  migrate::RestLoader loader(*app->destination, *app->store, sink, *app->clock, options.rest,
                             app->source->base_url());
  migrate::Runner runner(options, *app->store, planner, extractor, loader, sink, *app->clock);
  migrate::ConformanceCopier conformance(options.conformance, *app->source, loader, *app->store,
                                         sink, *app->clock);
  runner.SetConformanceCopier(&conformance);

  log.Info(std::string(follow ? "following" : "catching up") + ": " + app->source->base_url() +
           " -> " + app->destination->base_url());
  auto summary = follow ? runner.Follow() : runner.RunOnce();
  if (progress) progress->Stop();
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
