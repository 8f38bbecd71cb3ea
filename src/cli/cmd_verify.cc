// `verify`: parses nothing itself beyond the flags; the checks, the reports
// and their recording live in src/verify (verify/verify.h).
#include <cstdio>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "verify/verify.h"

namespace fm::cli {

int CmdVerify(const Context& ctx, const VerifyFlags& flags) {
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  const Config& c = app->config;

  verify::VerifyRequest request;
  request.surface = flags.surface;
  if (flags.deep > 0) request.deep = flags.deep;
  request.full = flags.full;
  request.fix_deletes = flags.fix_deletes;
  request.apply = flags.apply;
  if (flags.seed_set) request.seed = flags.seed;
  request.types = c.verify.types.empty() ? c.migration.plan.types : c.verify.types;
  request.ignore = c.verify.ignore;
  request.history = c.verify.history;
  request.page_size = c.verify.page_size;
  request.spill_dir = c.verify.spill_dir;

  // A report without a state file is still a report: the store is optional.
  bool have_store = OpenStore(*app, false).ok();
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
      std::fprintf(stderr, "fhir-migrate: verify: --before-watermark: the state has no watermark yet\n");
      return kExitUsage;
    }
  }

  auto report = verify::Verify(*app->source, *app->destination, request);
  if (!report.ok()) return Report("verify", report.error());
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
