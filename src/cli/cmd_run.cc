#include <cstdio>
#include <cstdlib>
#include <memory>

#include "auth/authorizing_transport.h"
#include "base/strings.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log_sink.h"
#include "cli/terminal_progress.h"
#include "fhir/bulk_export.h"
#include "migrate/bulk_extractor.h"
#include "migrate/conformance.h"
#include "migrate/import_loader.h"
#include "migrate/planner.h"
#include "migrate/rest_loader.h"
#include "migrate/runner.h"
#include "migrate/search_extractor.h"
#include "migrate/source_probe.h"
#include "server/metrics.h"
#include "server/ops_server.h"

namespace fm::cli {
namespace {

// staging.azure_*: the container URL split into endpoint and container, and
// the credentials read from the environment variables the config names (a
// secret is never a config value). Without any credential the run stops
// before exporting anything.
base::Result<stage::AzureBlobOptions> AzureBlobOptionsFrom(const migrate::ImportLoadOptions& io) {
  stage::AzureBlobOptions ao;
  std::string url = io.azure_container_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto slash = url.rfind('/');
  if (slash == std::string::npos || slash < 8) {
    return base::MakeError(base::ErrorKind::kConfig,
                           "staging.azure_container_url must be <account endpoint>/<container>");
  }
  ao.endpoint = url.substr(0, slash);
  ao.container = url.substr(slash + 1);
  ao.account = io.azure_account;
  auto from_env = [](const std::string& name) {
    const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
    return v == nullptr ? std::string() : std::string(v);
  };
  ao.account_key = from_env(io.azure_key_env);
  ao.sas_token = from_env(io.azure_sas_env);
  ao.sas_lifetime = io.sas_expiry;
  if (ao.account_key.empty() && ao.sas_token.empty()) {
    return base::MakeError(base::ErrorKind::kConfig,
                           "staging.kind = azure-blob needs a credential: staging.azure_key_env or "
                           "staging.azure_sas_env must name a set environment variable");
  }
  if (!ao.account_key.empty() && ao.account.empty()) {
    return base::MakeError(base::ErrorKind::kConfig,
                           "staging.azure_account is required with staging.azure_key_env");
  }
  return ao;
}

}  // namespace

int CmdRun(const Context& ctx, bool follow) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  // Declared before the log so they outlive the log's write hooks.
  std::unique_ptr<env::Clock> progress_clock = env::NewSystemClock();
  const base::Instant run_started = progress_clock->Now();
  std::unique_ptr<TerminalProgress> progress;
  Log log(config->log_format, config->log_level);
  LogSink log_sink(log);
  migrate::FanOutSink sink;
  sink.Add(&log_sink);
  server::MetricsSink metrics;
  sink.Add(&metrics);
  if (auto options = TerminalOptionsFor(ctx.progress)) {
    options->first_stage = config->migration.extract == migrate::ExtractMode::kBulk
                               ? migrate::WindowStage::kExporting
                               : migrate::WindowStage::kSearching;
    progress = std::make_unique<TerminalProgress>(*options, *progress_clock);
    sink.Add(progress.get());
    // The terminal is held from one hook to the other: a lock across two
    // calls, which the analysis cannot follow.
    log.SetWriteHooks([p = progress.get()]() FM_NO_THREAD_SAFETY_ANALYSIS { p->BeforeLogLine(); },
                      [p = progress.get()]() FM_NO_THREAD_SAFETY_ANALYSIS { p->AfterLogLine(); });
  }

  // One writer per state file, before anything is planned or sent.
  auto lock = LockStateFile(*config, ctx);
  if (!lock.ok()) return Report("run", lock.error());
  log.Info(ConfigOrigin(*config));
  if (const auto& previous = (*lock)->previous()) {
    log.Warn("took over the state file's lock from " + previous->Describe() +
             ", which ended without releasing it (killed or crashed)");
  }
  auto app = BuildApp(std::move(*config), sink);
  InstallSignalHandling(*app->clock);
  if (app->config.insecure) {
    log.Warn(
        "http.insecure is on: TLS certificates are NOT verified; anyone on the network path "
        "can read and alter patient data");
  }
  for (const auto& warning : app->config.warnings) log.Warn(warning);
  // Both servers answer before anything is planned: a dead server is exit 3
  // in seconds, not a window failing until the migration halts.
  auto servers = CheckServers(*app);
  if (!servers.ok()) return Report("run", servers.error());
  if (auto s =
          CheckTypesKnown(app->config.migration.plan.types, servers->source, "migration.types");
      !s.ok()) {
    return Report("run", s.error());
  }
  if (auto s = OpenStore(*app, /*read_only=*/false); !s.ok())
    return Report("state store", s.error());
  if (auto state = app->store->GetMigration(); state.ok()) metrics.SetWatermark(state->watermark);
  std::unique_ptr<server::HttpServer> ops;
  if (!ctx.http_listen.empty()) {
    server::OpsSources sources;
    sources.metrics = &metrics;
    sources.transport = app->counting.get();
    sources.clock = app->clock.get();
    sources.status = [&app] { return server::GatherStatus(*app->store, app->clock->Now()); };
    sources.bytes_staged = [&app] {
      auto bytes = app->store->StagedBytes();
      return bytes.ok() ? *bytes : int64_t{0};
    };
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
  // migration.pause_in_flight = stop: the export client, the bulk extractor
  // and the REST loader see the daily pause as an interruption, so windows in
  // flight stop at their next checkpoint; the runner waits the pause out.
  std::unique_ptr<env::Clock> pause_clock;
  if (options.run.pause_stops_in_flight &&
      options.run.pause_from_hour != options.run.pause_to_hour) {
    pause_clock = migrate::StopDuringPause(*app->clock, options.run);
  }
  env::Clock& work_clock = pause_clock ? *pause_clock : *app->clock;
  // Bulk $export: the protocol client makes its own retry decisions, so it
  // sends through the counting transport without the retry wrapper; the
  // Authorization value comes from the source's credentials, for its origin only.
  fhir::PollOptions poll;
  poll.initial_interval = options.bulk.poll_interval;
  poll.max_interval = options.bulk.max_poll_interval;
  poll.max_retry_after = options.bulk.max_poll_interval;
  fhir::BulkExportClient bulk_client(
      "source", app->source->base_url(), *app->counting, work_clock, poll,
      [&sink](const std::string& level, const std::string& message) {
        sink.OnNote(level, message);
      },
      SourceAuthHeader(*app));
  bulk_client.SetUrlGuard([&app](const std::string& what, const std::string& url) {
    return auth::CheckAllowedOrigin("source " + what, url, app->source->base_url(),
                                    app->config.allowed_origins);
  });
  std::string staging_dir = options.bulk.staging_dir;
  if (staging_dir.empty()) {
    auto slash = app->config.state_path.rfind('/');
    staging_dir =
        (slash == std::string::npos ? std::string(".") : app->config.state_path.substr(0, slash)) +
        "/staging";
  }
  // migration.load = import: the extractor only stages; the destination pulls
  // the files with $import (docs/import-and-staging.md).
  const bool import_load = options.load == migrate::LoadMode::kImport;
  migrate::BulkOptions bulk_options = options.bulk;
  bulk_options.stage_only = import_load;
  bulk_options.passthrough = import_load && options.import.staging_kind == "passthrough";
  bulk_options.deleted_versions_delete = options.run.propagate_deletes;
  migrate::BulkExtractor bulk_extractor(bulk_client, *app->store, *app->fs, work_clock,
                                        bulk_options, staging_dir, sink);
  std::unique_ptr<stage::FileServer> file_server;
  std::unique_ptr<stage::AzureBlobClient> blob_client;
  std::unique_ptr<migrate::ImportStager> stager;
  std::unique_ptr<fhir::BulkImporter> importer;
  std::unique_ptr<migrate::ImportWindowLoader> import_loader;
  if (import_load) {
    const auto& io = options.import;
    fhir::ImportOptions import_options;
    auto mode = fhir::ParseImportMode(io.mode);
    if (!mode.ok()) {
      return Report(
          "run", base::MakeError(base::ErrorKind::kConfig, "import.mode: " + mode.error().message));
    }
    import_options.mode = *mode;
    import_options.files_per_request = static_cast<size_t>(io.files_per_request);
    import_options.parallel_imports = io.parallel_imports;
    if (io.staging_kind == "passthrough") {
      stager = migrate::NewPassthroughStager();
    } else if (io.staging_kind == "serve") {
      stage::FileServerOptions fso;
      std::string address = io.serve_address;
      if (auto colon = address.rfind(':'); colon != std::string::npos) {
        fso.bind_address = address.substr(0, colon);
        fso.port = std::atoi(address.substr(colon + 1).c_str());
      } else if (!address.empty()) {
        fso.bind_address = address;
      }
      auto started = stage::FileServer::Start(fso);
      if (!started.ok()) return Report("run", started.error());
      file_server = std::move(*started);
      stager = migrate::NewServeStager(*file_server);
    } else if (io.staging_kind == "azure-blob") {
      auto ao = AzureBlobOptionsFrom(io);
      if (!ao.ok()) return Report("run", ao.error());
      blob_client =
          std::make_unique<stage::AzureBlobClient>(*app->retrying, *app->clock, *app->fs, *ao);
      stager = migrate::NewAzureBlobStager(*blob_client);
    } else {
      return Report("run", base::MakeError(
                               base::ErrorKind::kConfig,
                               "staging.kind '" + io.staging_kind +
                                   "' cannot feed $import (use passthrough, serve or azure-blob)"));
    }
    importer = std::make_unique<fhir::BulkImporter>(*app->destination, *app->clock, import_options);
    import_loader = std::make_unique<migrate::ImportWindowLoader>(*app->store, *importer, *stager,
                                                                  *app->clock, sink);
    if (options.bulk.delete_status_url) {
      import_loader->SetExportReleaser([&bulk_client, &sink](const std::string& status_url) {
        const std::string shown = base::RedactUrl(status_url);
        if (auto s = bulk_client.Delete(status_url); !s.ok()) {
          sink.OnNote("warn",
                      "DELETE of the source export job " + shown + " failed: " + s.error().message);
        } else {
          sink.OnNote("info",
                      "source export job " + shown + " deleted: $import no longer reads it");
        }
      });
    }
  }
  migrate::Extractor& extractor = options.extract == migrate::ExtractMode::kBulk
                                      ? static_cast<migrate::Extractor&>(bulk_extractor)
                                      : search_extractor;
  migrate::RestLoadOptions rest_options = options.rest;
  // Only an export carrying history puts several versions of one resource in
  // a window; otherwise remembering versions would cost memory per id.
  if (!migrate::LoadsWindowsInOrder(options)) rest_options.version_memory = 0;
  migrate::RestLoader loader(*app->destination, *app->store, sink, work_clock, rest_options,
                             app->source->base_url());
  migrate::Runner runner(options, *app->store, planner, extractor, loader, sink, *app->clock);
  migrate::ConformanceCopier conformance(options.conformance, *app->source, loader, *app->store,
                                         sink, *app->clock);
  runner.SetConformanceCopier(&conformance);
  if (import_loader) runner.SetWindowLoader(import_loader.get());

  log.Info(std::string(follow ? "following" : "catching up") + ": " + app->source->base_url() +
           " -> " + app->destination->base_url());
  auto summary = follow ? runner.Follow() : runner.RunOnce();
  if (progress) progress->Stop();
  if (!summary.ok()) return Report("run", summary.error());
  if (summary->source_empty) log.Info("the source holds no resources of the migrated types yet");
  log.Info(RunSummaryLine(*summary, progress_clock->Now() - run_started));
  auto failures = app->store->CountFailures(false);
  if (failures.ok() && *failures > 0) {
    log.Warn(std::to_string(*failures) +
             " resources are in the failures table: see `fhir-migrate failures list`; once "
             "the cause is fixed, `fhir-migrate failures retry --all` sends them again");
    return kExitWithFailures;
  }
  return kExitOk;
}

}  // namespace fm::cli
