// `verify`: parses nothing itself beyond the flags; the checks, the reports
// and their recording live in src/verify (verify/verify.h).
#include <cstdio>
#include <memory>

#include "auth/authorizing_transport.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/log.h"
#include "fhir/bulk_export.h"
#include "verify/verify.h"

namespace fm::cli {
namespace {

// A Bulk Data client for the full check, wired like the migration's: the
// counting transport without the retry wrapper (the protocol makes its own
// retry decisions), status and file URLs only on the server's own origin or
// security.allowed_origins, the server's credentials only for its own origin.
std::unique_ptr<fhir::BulkExportClient> ExportClientFor(App& app, fhir::Client& server,
                                                        auth::AuthHeaderFn auth,
                                                        const fhir::NoteHook& note) {
  const auto& bulk = app.config.migration.bulk;
  fhir::PollOptions poll;
  poll.initial_interval = bulk.poll_interval;
  poll.max_interval = bulk.max_poll_interval;
  poll.max_retry_after = bulk.max_poll_interval;
  auto client = std::make_unique<fhir::BulkExportClient>(
      server.name(), server.base_url(), *app.counting, *app.clock, poll, note, std::move(auth));
  client->SetUrlGuard([&app, &server](const std::string& what, const std::string& url) {
    return auth::CheckAllowedOrigin(server.name() + " " + what, url, server.base_url(),
                                    app.config.allowed_origins);
  });
  return client;
}

}  // namespace

int CmdVerify(const Context& ctx, const VerifyFlags& flags) {
  if (flags.dry_run && !flags.fix && !flags.fix_deletes) {
    std::fprintf(stderr, "fhir-migrate: verify: --dry-run goes with --fix or --fix-deletes\n");
    return kExitUsage;
  }
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  // Changing the destination is writing the migration: one writer at a time.
  const bool writes = !flags.dry_run && (flags.fix || (flags.fix_deletes && flags.apply));
  std::unique_ptr<store::StateLock> lock;
  if (writes) {
    auto locked = LockStateFile(*config, ctx);
    if (!locked.ok()) return Report("verify", locked.error());
    lock = std::move(*locked);
  }
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  // SIGINT/SIGTERM stop the check at its next wait and let it clean up (an
  // export job is DELETEd); a second signal kills at once.
  InstallSignalHandling(*app->clock);
  const Config& c = app->config;

  verify::VerifyRequest request;
  request.surface = flags.surface;
  if (flags.deep > 0) request.deep = flags.deep;
  request.full = flags.full;
  request.fix_deletes = flags.fix_deletes;
  request.apply = flags.apply;
  request.fix = flags.fix;
  request.dry_run = flags.dry_run;
  request.resend.batch_size = c.migration.rest.batch_size;
  request.resend.rewrite_references = c.migration.rest.rewrite_references;
  request.resend.source_base_url = app->source->base_url();
  request.resend.propagate_deletes = c.migration.run.propagate_deletes;
  if (flags.seed_set) request.seed = flags.seed;
  request.types = c.verify.types.empty() ? c.migration.plan.types : c.verify.types;
  request.ignore = c.verify.ignore;
  request.history = c.verify.history;
  request.page_size = c.verify.page_size;
  request.spill_dir = c.verify.spill_dir;
  request.full_via = c.verify.full_via;
  // The full check's $export takes the kick-off style and bound of bulk.*;
  // it always exports at system level, without _typeFilter or
  // includeAssociatedData, which would change what is compared.
  const auto& bulk = c.migration.bulk;
  request.export_read.request.post = bulk.post;
  request.export_read.request.upper_bound_param = bulk.upper_bound_param;
  request.export_read.request.upper_bound_inclusive = bulk.upper_bound_inclusive;
  request.export_read.max_download_attempts = bulk.max_download_attempts;
  request.export_read.retry_backoff = bulk.poll_interval;
  request.export_read.max_backoff = bulk.max_poll_interval;
  Log log(c.log_format, c.log_level);
  request.note = [&log](const std::string& level, const std::string& message) {
    log.Write(level == "warn" ? LogLevel::kWarn : LogLevel::kInfo, "verify: " + message);
  };
  verify::ExportClients exports;
  std::unique_ptr<fhir::BulkExportClient> source_export, destination_export;
  if (request.full && request.full_via != verify::FullVia::kSearch) {
    source_export = ExportClientFor(*app, *app->source, SourceAuthHeader(*app), request.note);
    destination_export =
        ExportClientFor(*app, *app->destination, DestinationAuthHeader(*app), request.note);
    exports = {source_export.get(), destination_export.get()};
  }

  auto servers = CheckServers(*app);
  if (!servers.ok()) return Report("verify", servers.error());
  if (auto s = CheckTypesKnown(request.types, servers->source,
                               c.verify.types.empty() ? "migration.types" : "verify.types");
      !s.ok()) {
    return Report("verify", s.error());
  }

  // A report without a state file is still a report: the store is optional.
  bool have_store = OpenStore(*app, false).ok();
  // --fix: what the destination refuses joins the failures table (stage
  // verify), and a copy that succeeds resolves the resource's failures.
  migrate::OpenFailures open_failures;
  std::optional<base::Error> record_error;
  if (have_store && request.fix && !request.dry_run) {
    auto open = migrate::LoadOpenFailures(*app->store);
    if (!open.ok()) return Report("verify", open.error());
    open_failures = std::move(*open);
    request.on_resent = [&](const migrate::ResendOutcome& o) {
      auto s =
          migrate::RecordResendOutcome(*app->store, open_failures, o, app->clock->Now(), "verify");
      if (!s.ok() && !record_error) record_error = s.error();
    };
  }
  if (!flags.before.empty()) {
    auto t = base::ParseInstant(flags.before);
    if (!t.ok()) {
      std::fprintf(stderr, "fhir-migrate: verify: --before: %s\n", t.error().message.c_str());
      return kExitUsage;
    }
    request.before = *t;
  } else if (!flags.no_before_watermark) {
    std::optional<base::Instant> watermark;
    if (have_store) {
      auto state = app->store->GetMigration();
      if (state.ok()) watermark = state->watermark;
    }
    if (watermark) {
      request.before = watermark;
    } else if (flags.before_watermark) {
      std::fprintf(stderr,
                   "fhir-migrate: verify: --before-watermark: the state has no watermark yet\n");
      return kExitUsage;
    }
  }

  auto report = verify::Verify(*app->source, *app->destination, request, exports);
  if (!report.ok()) {
    if (report.error().kind == base::ErrorKind::kCancelled) {
      // Never 0: an interrupted check proves nothing.
      std::fprintf(stderr,
                   "fhir-migrate: verify: stopped before the check was complete; no "
                   "result was recorded\n");
      return kExitFailure;
    }
    return Report("verify", report.error());
  }
  if (record_error) return Report("verify", *record_error);
  if (have_store) {
    if (auto s = verify::RecordChecks(*app->store, *report, app->clock->Now()); !s.ok()) {
      std::fprintf(stderr, "fhir-migrate: verify: result not recorded: %s\n",
                   s.error().message.c_str());
    }
  }
  if (ctx.format == "json") {
    std::printf("%s\n", verify::ReportJson(*report).c_str());
  } else {
    std::fputs(verify::ReportText(*report).c_str(), stdout);
  }
  if (!report->passed()) {
    for (const auto& line : report->Problems()) {
      std::fprintf(stderr, "fhir-migrate: verify: %s\n", line.c_str());
    }
    return kExitDiscrepancy;
  }
  return kExitOk;
}

}  // namespace fm::cli
