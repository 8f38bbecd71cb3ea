#include <cstdio>
#include <map>
#include <optional>

#include "base/strings.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "migrate/resend.h"

namespace fm::cli {
namespace {

std::string AttemptJson(const store::FailureAttempt& a) {
  return "{\"at\":\"" + base::FormatInstant(a.at) + "\",\"outcome\":\"" + JsonEscape(a.outcome) +
         "\",\"http_status\":" + std::to_string(a.http_status) + ",\"reason\":\"" +
         JsonEscape(a.reason) + "\"}";
}

const char* OutcomeName(migrate::ResendOutcome::Kind kind) {
  switch (kind) {
    case migrate::ResendOutcome::Kind::kSent:
      return "resolved";
    case migrate::ResendOutcome::Kind::kDeleted:
      return "resolved";
    case migrate::ResendOutcome::Kind::kGoneOnSource:
      return "resolved";
    case migrate::ResendOutcome::Kind::kRefused:
      return "failed";
  }
  return "failed";
}

}  // namespace

// Reads the state file only: no server URL or credential is needed.
int CmdFailuresList(const Context& ctx, size_t limit, bool include_resolved) {
  ConfigSources sources = ctx.sources;
  sources.require_servers = false;
  auto config = LoadConfigOrReport(sources);
  if (!config) return kExitUsage;
  auto opened = OpenStateFile(*config, /*read_only=*/true);
  if (!opened.ok()) return Report("failures", opened.error());
  store::StateStore& store = **opened;
  auto failures = store.ListFailures(include_resolved, limit);
  if (!failures.ok()) return Report("failures", failures.error());
  std::map<int64_t, std::vector<store::FailureAttempt>> history;
  if (include_resolved) {
    for (const auto& f : *failures) {
      auto attempts = store.ListFailureAttempts(f.id);
      if (!attempts.ok()) return Report("failures", attempts.error());
      history[f.id] = std::move(*attempts);
    }
  }
  if (ctx.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < failures->size(); ++i) {
      const auto& f = (*failures)[i];
      out += std::string(i ? "," : "") + "{\"id\":" + std::to_string(f.id) +
             ",\"window\":" + std::to_string(f.window_id) + ",\"stage\":\"" + JsonEscape(f.stage) +
             "\",\"type\":\"" + JsonEscape(f.resource_type) + "\",\"resource_id\":\"" +
             JsonEscape(f.resource_id) + "\",\"http_status\":" + std::to_string(f.http_status) +
             ",\"reason\":\"" + JsonEscape(f.reason) + "\",\"at\":\"" + base::FormatInstant(f.at) +
             "\",\"resolved\":" + (f.resolved ? "true" : "false");
      if (f.resolved_at) out += ",\"resolved_at\":\"" + base::FormatInstant(*f.resolved_at) + "\"";
      if (include_resolved) {
        out += ",\"attempts\":[";
        const auto& attempts = history[f.id];
        for (size_t j = 0; j < attempts.size(); ++j) {
          out += (j ? "," : "") + AttemptJson(attempts[j]);
        }
        out += "]";
      }
      out += "}";
    }
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  if (failures->empty()) {
    std::printf(include_resolved ? "no failures\n" : "no unresolved failures\n");
    return kExitOk;
  }
  std::printf("%-6s %-7s %-8s %-40s %-6s %s\n", "id", "window", "stage", "resource", "status",
              include_resolved ? "state / reason" : "reason");
  for (const auto& f : *failures) {
    std::string reason = f.reason;
    if (include_resolved)
      reason = std::string(f.resolved ? "resolved" : "unresolved") + ": " + reason;
    std::printf("%-6lld %-7lld %-8s %-40s %-6d %s\n", static_cast<long long>(f.id),
                static_cast<long long>(f.window_id), f.stage.c_str(),
                (f.resource_type + "/" + f.resource_id).c_str(), f.http_status, reason.c_str());
    if (include_resolved) {
      for (const auto& a : history[f.id]) {
        std::printf("       %s  %-8s %3d %s\n", base::FormatInstant(a.at).c_str(),
                    a.outcome.c_str(), a.http_status, a.reason.c_str());
      }
    }
  }
  return kExitOk;
}

int CmdFailuresRetry(const Context& ctx, const FailuresRetryFlags& flags) {
  if (!flags.all && flags.type.empty() && flags.id.empty()) {
    std::fprintf(stderr,
                 "fhir-migrate: failures retry: say which failures: --all, --type TYPE and/or "
                 "--id ID\n");
    return kExitUsage;
  }
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  auto lock = LockStateFile(*config, ctx);
  if (!lock.ok()) return Report("failures retry", lock.error());
  migrate::ProgressSink quiet;
  auto app = BuildApp(std::move(*config), quiet);
  InstallSignalHandling(*app->clock);
  auto servers = CheckServers(*app);
  if (!servers.ok()) return Report("failures retry", servers.error());
  if (auto s = OpenStore(*app, /*read_only=*/false); !s.ok()) {
    return Report("failures retry", s.error());
  }
  store::StateStore& store = *app->store;
  auto open = migrate::LoadOpenFailures(store);
  if (!open.ok()) return Report("failures retry", open.error());

  // The resources to send: each once, however many failures name it.
  std::vector<std::pair<std::string, std::string>> chosen;
  int skipped = 0;
  for (const auto& [key, failures] : *open) {
    const store::Failure& f = failures.front();
    if (!flags.type.empty() && f.resource_type != flags.type) continue;
    if (!flags.id.empty() && f.resource_id != flags.id) continue;
    if (f.resource_type.empty() || f.resource_id.empty()) {
      std::printf("failure #%lld (%s): names no resource; nothing to send\n",
                  static_cast<long long>(f.id), f.stage.c_str());
      ++skipped;
      continue;
    }
    chosen.emplace_back(f.resource_type, f.resource_id);
  }
  if (chosen.empty()) {
    std::printf("no unresolved failures match\n");
    return skipped > 0 ? kExitWithFailures : kExitOk;
  }

  const Config& c = app->config;
  migrate::ResendOptions options;
  options.batch_size = c.migration.rest.batch_size;
  options.rewrite_references = c.migration.rest.rewrite_references;
  options.source_base_url = app->source->base_url();
  options.propagate_deletes = c.migration.run.propagate_deletes;
  int resolved = 0, failed = 0;
  std::optional<base::Error> record_error;
  std::string json;
  migrate::Resender resender(
      *app->source, *app->destination, options, [&](const migrate::ResendOutcome& o) {
        bool ok = o.delivered();
        ++(ok ? resolved : failed);
        if (ctx.format == "json") {
          json += std::string(json.empty() ? "" : ",") + "{\"type\":\"" + JsonEscape(o.type) +
                  "\",\"resource_id\":\"" + JsonEscape(o.id) + "\",\"outcome\":\"" +
                  OutcomeName(o.kind) + "\",\"http_status\":" + std::to_string(o.http_status) +
                  ",\"reason\":\"" + JsonEscape(o.reason) + "\"}";
        } else {
          std::printf("%s/%s: %s (%d) %s\n", o.type.c_str(), o.id.c_str(), OutcomeName(o.kind),
                      o.http_status, o.reason.c_str());
        }
        auto s = migrate::RecordResendOutcome(store, *open, o, app->clock->Now(), "");
        if (!s.ok() && !record_error) record_error = s.error();
      });
  base::Status sent;
  for (const auto& [type, id] : chosen) {
    if (app->clock->Interrupted()) break;
    sent = resender.Add(type, id);
    if (!sent.ok()) break;
  }
  if (sent.ok()) sent = resender.Finish();
  if (ctx.format == "json") std::printf("[%s]\n", json.c_str());
  if (record_error) return Report("failures retry", *record_error);
  if (!sent.ok()) return Report("failures retry", sent.error());
  int not_tried = static_cast<int>(chosen.size()) - resolved - failed;
  if (ctx.format != "json") {
    std::printf(
        "%d resolved, %d still failing%s\n", resolved, failed,
        not_tried > 0 ? (", " + std::to_string(not_tried) + " not tried (stopped)").c_str() : "");
  }
  return failed + skipped + not_tried > 0 ? kExitWithFailures : kExitOk;
}

int CmdClearHalt(const Context& ctx, int64_t retry_window, bool retry_command) {
  const char* what = retry_command ? "retry" : "clear-halt";
  auto config = LoadConfigOrReport(ctx.sources);
  if (!config) return kExitUsage;
  auto lock = LockStateFile(*config, ctx);
  if (!lock.ok()) return Report(what, lock.error());
  auto opened = OpenStateFile(*config, /*read_only=*/false);
  if (!opened.ok()) return Report(what, opened.error());
  store::StateStore& store = **opened;
  std::string said;
  base::Status s = store.Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(auto state, store.GetMigration());
    bool was_halted = state.halted;
    FM_ASSIGN_OR_RETURN(auto windows, store.ListWindows());
    const store::Window* named = nullptr;
    for (const auto& w : windows) {
      if (retry_window != 0 && w.id == retry_window) named = &w;
    }
    if (retry_window != 0 && named == nullptr) {
      return base::MakeError(base::ErrorKind::kConfig,
                             "no window " + std::to_string(retry_window) +
                                 " in the state file (`fhir-migrate status` lists the windows)");
    }
    // A named window needs a retry only when it failed (or used up attempts).
    if (named != nullptr && named->status != store::WindowStatus::kFailed && named->attempts == 0 &&
        !was_halted) {
      return base::MakeError(base::ErrorKind::kConfig,
                             "window " + std::to_string(retry_window) + " is " +
                                 store::WindowStatusName(named->status) +
                                 ", not failed: nothing to retry" +
                                 (named->status == store::WindowStatus::kLoaded
                                      ? std::string()
                                      : " (`fhir-migrate run` goes on with it)"));
    }
    state.halted = false;
    state.halt_reason.clear();
    FM_TRY_STATUS(store.PutMigration(state));
    int reset = 0;
    for (auto w : windows) {
      // The halting window (and any window named) gets a fresh set of attempts.
      bool is_named = named != nullptr && w.id == named->id;
      if (is_named || (was_halted && w.status == store::WindowStatus::kFailed)) {
        w.attempts = 0;
        w.not_before.reset();
        FM_TRY_STATUS(store.UpdateWindow(w));
        ++reset;
      }
    }
    if (was_halted) {
      said = "halt cleared; `fhir-migrate run` resumes";
    } else if (named != nullptr) {
      said = "window " + std::to_string(named->id) +
             " gets a fresh set of attempts; `fhir-migrate run` retries it";
    } else {
      said = "not halted; nothing to clear";
    }
    if (was_halted && reset > 0)
      said += " (" + std::to_string(reset) + " windows get fresh attempts)";
    return base::Ok();
  });
  if (!s.ok()) return Report(what, s.error());
  std::printf("%s\n", said.c_str());
  return kExitOk;
}

}  // namespace fm::cli
