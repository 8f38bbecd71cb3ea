#include "migrate/runner.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "json/canonical.h"
#include "migrate/conformance.h"

namespace fm::migrate {
namespace {

bool Pending(const store::Window& w) { return w.status != store::WindowStatus::kLoaded; }

std::string Describe(const store::Window& w) {
  return "window #" + std::to_string(w.id) + " [" + base::FormatInstant(w.since) + ", " +
         base::FormatInstant(w.till) + ")";
}

}  // namespace

Runner::Runner(const MigrationOptions& options, store::StateStore& store, Planner& planner,
               Extractor& extractor, RestLoader& loader, ProgressSink& sink, env::Clock& clock)
    : options_(options),
      store_(store),
      planner_(planner),
      extractor_(extractor),
      loader_(loader),
      sink_(sink),
      clock_(clock) {}

bool LoadsWindowsInOrder(const MigrationOptions& options) {
  const auto& assoc = options.bulk.include_associated_data;
  return options.extract == ExtractMode::kBulk && options.load == LoadMode::kRest &&
         std::find(assoc.begin(), assoc.end(), "_history") != assoc.end();
}

namespace {

class PauseStopClock : public env::Clock {
 public:
  PauseStopClock(env::Clock& inner, RunOptions options) : inner_(inner), options_(options) {}
  base::Instant Now() override { return inner_.Now(); }
  bool SleepFor(base::Millis d) override { return inner_.SleepFor(d) && !Interrupted(); }
  void Interrupt() override { inner_.Interrupt(); }
  bool Interrupted() const override {
    return inner_.Interrupted() || PauseEnds(options_, inner_.Now()).has_value();
  }

 private:
  env::Clock& inner_;
  RunOptions options_;
};

}  // namespace

std::unique_ptr<env::Clock> StopDuringPause(env::Clock& inner, const RunOptions& options) {
  return std::make_unique<PauseStopClock>(inner, options);
}

std::optional<base::Instant> PauseEnds(const RunOptions& options, base::Instant now) {
  int from = options.pause_from_hour, to = options.pause_to_hour;
  if (from == to) return std::nullopt;
  auto day = std::chrono::floor<std::chrono::days>(now);
  int hour = static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(now - day).count());
  bool inside = from < to ? (hour >= from && hour < to) : (hour >= from || hour < to);
  if (!inside) return std::nullopt;
  base::Instant end = day + std::chrono::hours(to);
  if (end <= now) end += std::chrono::hours(24);
  return end;
}

base::Millis Runner::Backoff(int attempts) const {
  auto delay = options_.run.retry_backoff * (1LL << std::min(attempts - 1, 16));
  return std::min<base::Millis>(delay, options_.run.max_retry_backoff);
}

base::Result<RunSummary> Runner::RunOnce() {
  Tally tally;
  FM_ASSIGN_OR_RETURN(auto state, store_.GetMigration());
  if (state.halted) {
    return base::MakeError(base::ErrorKind::kHalted, std::string(kHaltedPrefix) + ": " +
                                                         state.halt_reason +
                                                         " (fix the cause, then run "
                                                         "`fhir-migrate clear-halt`)");
  }
  if (!options_.identity.empty()) {
    std::string fingerprint = json::Sha256Hex(options_.identity);
    if (state.fingerprint.empty()) {
      state.fingerprint = fingerprint;
      FM_TRY_STATUS(store_.PutMigration(state));
    } else if (state.fingerprint != fingerprint) {
      return base::MakeError(base::ErrorKind::kOtherMigration,
                             std::string(kOtherMigrationPrefix) +
                                 ": it was started with another source or destination URL; "
                                 "use a new state file (state.path) for these servers, "
                                 "or the old URLs for the old migration");
    }
  }
  if (conformance_) {
    // Not a reason to hold the data back: the copy is retried on the next
    // run (its checkpoint only moves on success), and the log says so.
    auto copied = conformance_->Copy();
    if (!copied.ok()) {
      if (copied.error().kind == base::ErrorKind::kUnauthorized) return copied.error();
      sink_.OnNote("warn", "copying conformance resources failed (retried on the next run): " +
                               copied.error().ToString());
    }
  }
  FM_ASSIGN_OR_RETURN(auto plan, planner_.Plan());
  {
    base::MutexLock lock(tally.mu);
    tally.summary.source_empty = plan.source_empty;
  }
  bool in_order = LoadsWindowsInOrder(options_);
  if (in_order && options_.run.windows_in_flight > 1) {
    sink_.OnNote("info",
                 "bulk export with _history loaded by REST: windows load one at a time, "
                 "oldest first (migration.windows_in_flight is not used)");
  }

  while (!clock_.Interrupted()) {
    FM_ASSIGN_OR_RETURN(auto windows, store_.ListPendingWindows());
    std::vector<store::Window> ready;
    std::optional<base::Instant> earliest;
    base::Instant now = clock_.Now();
    for (const auto& w : windows) {
      if (!Pending(w)) continue;
      if (w.not_before && *w.not_before > now) {
        if (!earliest || *w.not_before < *earliest) earliest = w.not_before;
        if (in_order) break;
        continue;
      }
      if (ready.size() < static_cast<size_t>(std::max(1, options_.run.windows_in_flight))) {
        ready.push_back(w);
      }
      if (in_order) break;
    }
    if (!ready.empty()) {
      if (auto resume = PauseEnds(options_.run, now)) {
        sink_.OnNote("info", "paused until " + base::FormatInstant(*resume) +
                                 " (migration.pause): no new window starts");
        clock_.SleepFor(*resume - now);
        continue;
      }
    }
    if (ready.empty()) {
      if (!earliest) break;  // everything planned is loaded
      sink_.OnRetryScheduled("next window retry", *earliest - now, "waiting for backoff");
      clock_.SleepFor(*earliest - now);
      continue;
    }
    std::mutex mu;
    std::optional<base::Error> fatal;
    auto attempt = [&](const store::Window& w) {
      base::Status s = AttemptWindow(w, plan.types, tally);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (!fatal) fatal = s.error();
      }
    };
    if (ready.size() == 1) {
      attempt(ready.front());
    } else {
      std::vector<std::thread> threads;
      for (const auto& w : ready) threads.emplace_back(attempt, w);
      for (auto& t : threads) t.join();
    }
    if (fatal) return *fatal;  // store failure or halt
  }
  RunSummary summary;
  {
    base::MutexLock lock(tally.mu);
    summary = tally.summary;
  }
  summary.interrupted = clock_.Interrupted();
  FM_ASSIGN_OR_RETURN(state, store_.GetMigration());
  summary.watermark = state.watermark;
  return summary;
}

base::Result<RunSummary> Runner::Follow() {
  RunSummary total;
  while (true) {
    FM_ASSIGN_OR_RETURN(auto summary, RunOnce());
    total.windows_loaded += summary.windows_loaded;
    total.window_failures += summary.window_failures;
    total.resources_loaded += summary.resources_loaded;
    total.resources_failed += summary.resources_failed;
    total.watermark = summary.watermark;
    if (summary.interrupted || clock_.Interrupted()) {
      total.interrupted = true;
      return total;
    }
    if (options_.plan.end && summary.watermark && *summary.watermark >= *options_.plan.end) {
      return total;
    }
    sink_.OnIdle(clock_.Now() + options_.run.poll_interval);
    if (!clock_.SleepFor(options_.run.poll_interval)) {
      total.interrupted = true;
      return total;
    }
  }
}

base::Status Runner::AttemptWindow(store::Window w, const std::vector<std::string>& types,
                                   Tally& tally) {
  // Start the attempt: forget what an interrupted earlier attempt recorded, it
  // is about to be recorded again.
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    w.status = store::WindowStatus::kExtracting;
    w.updated_at = clock_.Now();
    w.started_at = w.updated_at;
    FM_TRY_STATUS(store_.UpdateWindow(w));
    FM_TRY_STATUS(store_.DeleteFailures(w.id));
    return store_.ResetCounts(w.id);
  }));
  sink_.OnWindowStarted(w);

  auto session = loader_.Begin(w.id);
  auto extracted = extractor_.ExtractWindow(w, types, *session);
  base::Result<LoadTotals> totals = LoadTotals{};
  if (options_.load == LoadMode::kImport && window_loader_ != nullptr) {
    // The extractor only staged the window; the destination loads the files.
    // Nothing was streamed, so the session sends nothing.
    (void)session->Finish();
    session.reset();
    if (extracted.ok()) {
      if (auto fresh = store_.GetWindow(w.id); fresh.ok()) w = *fresh;
      totals = window_loader_->LoadWindow(w);
    } else {
      totals = extracted.error();
    }
  } else {
    totals = extracted.ok() ? session->Finish() : base::Result<LoadTotals>(extracted.error());
    session.reset();
    if (!extracted.ok() && totals.ok()) totals = extracted.error();
  }

  if (totals.ok() && options_.run.propagate_deletes) {
    base::Status applied = ApplyRecordedDeletions(w, *totals, *extracted);
    if (!applied.ok()) totals = applied.error();
  }
  if (!totals.ok()) {
    // The extractor and the window loader record their own state on the
    // window (an export forgotten so the retry exports again): build on it.
    if (auto fresh = store_.GetWindow(w.id); fresh.ok()) w = *fresh;
    if (totals.error().kind == base::ErrorKind::kCancelled) {
      // Stopped by the operator: not a failure; the window starts over next run.
      w.status = store::WindowStatus::kPlanned;
      return store_.UpdateWindow(w);
    }
    if (totals.error().kind == base::ErrorKind::kStorage) {
      // A full disk or an unwritable staging directory is not the window's
      // fault and no retry can mend it: stop the run (the operator acts),
      // count no attempt, and start the window over next run.
      w.status = store::WindowStatus::kPlanned;
      (void)store_.UpdateWindow(w);
      return totals.error();
    }
    return RecordFailure(w, totals.error(), tally);
  }
  // The extractor may have recorded export state on the window.
  if (auto fresh = store_.GetWindow(w.id); fresh.ok()) w = *fresh;
  FM_TRY_STATUS(RecordSuccess(w, types, *extracted, *totals));
  base::MutexLock lock(tally.mu);
  ++tally.summary.windows_loaded;
  tally.summary.resources_loaded += totals->loaded;
  tally.summary.resources_failed += totals->failed;
  return base::Ok();
}

base::Status Runner::ApplyRecordedDeletions(const store::Window& w, LoadTotals& totals,
                                            std::map<std::string, int64_t>& read) {
  FM_ASSIGN_OR_RETURN(auto deletions, store_.ListDeletions(w.id));
  std::vector<store::Deletion> pending;
  std::map<std::string, int64_t> pending_by_type;
  for (auto& d : deletions) {
    if (d.applied) continue;
    ++pending_by_type[d.resource_type];
    pending.push_back(std::move(d));
  }
  if (pending.empty()) return base::Ok();
  // Read from the export's deleted[] like its resources from output[]: the
  // window's figures count them on both sides (read, then loaded or failed).
  for (const auto& [type, n] : pending_by_type) {
    read[type] += n;
    sink_.OnResourcesExtracted(w.id, type, n);
  }
  auto session = loader_.Begin(w.id);
  for (const auto& d : pending) {
    FM_TRY_STATUS(session->Consume(Resource{d.resource_type, d.resource_id, ""}));
  }
  FM_ASSIGN_OR_RETURN(auto deleted, session->Finish());
  for (const auto& [type, c] : deleted.by_type) {
    auto& t = totals.by_type[type];
    t.resource_type = type;
    t.loaded += c.loaded;
    t.failed += c.failed;
  }
  totals.loaded += deleted.loaded;
  totals.failed += deleted.failed;
  return store_.Transaction([&]() -> base::Status {
    for (const auto& d : pending) {
      FM_TRY_STATUS(store_.MarkDeletionApplied(w.id, d.resource_type, d.resource_id));
    }
    return base::Ok();
  });
}

base::Status Runner::RecordSuccess(store::Window& w, const std::vector<std::string>& types,
                                   const std::map<std::string, int64_t>& extracted,
                                   const LoadTotals& totals) {
  std::optional<base::Instant> watermark;
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    std::map<std::string, store::TypeCounts> counts = totals.by_type;
    int64_t extracted_total = 0;
    (void)types;
    for (const auto& [type, n] : extracted) {
      counts[type].resource_type = type;
      counts[type].extracted += n;
      extracted_total += n;
    }
    for (const auto& [type, c] : counts) {
      if (c.extracted || c.loaded || c.failed) FM_TRY_STATUS(store_.AddCounts(w.id, c));
    }
    w.status = store::WindowStatus::kLoaded;
    w.resources_extracted = extracted_total;
    w.resources_loaded = totals.loaded;
    w.resources_failed = totals.failed;
    w.last_error.clear();
    w.not_before.reset();
    w.updated_at = clock_.Now();
    FM_TRY_STATUS(store_.UpdateWindow(w));
    // Each type's timeline is contiguous, so the windows not loaded and the
    // newest of each type say how far every type is loaded (Watermark).
    FM_ASSIGN_OR_RETURN(auto windows, store_.ListPendingWindows());
    FM_ASSIGN_OR_RETURN(auto newest, store_.NewestWindows());
    windows.insert(windows.end(), newest.begin(), newest.end());
    FM_ASSIGN_OR_RETURN(auto state, store_.GetMigration());
    watermark = Watermark(windows);
    if (state.start && watermark && *watermark <= *state.start) watermark.reset();
    if (watermark && (!state.watermark || *watermark > *state.watermark)) {
      state.watermark = watermark;
    }
    watermark = state.watermark;
    state.last_success_at = clock_.Now();
    return store_.PutMigration(state);
  }));
  sink_.OnWindowLoaded(w);
  if (watermark) sink_.OnWatermark(*watermark);
  return base::Ok();
}

base::Status Runner::RecordFailure(store::Window& w, const base::Error& error, Tally& tally) {
  bool halted = false;
  std::string reason;
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    ++w.attempts;
    w.status = store::WindowStatus::kFailed;
    w.last_error = error.ToString();
    w.not_before = clock_.Now() + Backoff(w.attempts);
    w.updated_at = clock_.Now();
    FM_TRY_STATUS(store_.UpdateWindow(w));
    if (w.attempts >= options_.run.max_attempts) {
      FM_ASSIGN_OR_RETURN(auto state, store_.GetMigration());
      state.halted = true;
      reason = Describe(w) + " failed " + std::to_string(w.attempts) +
               " times; last error: " + w.last_error;
      state.halt_reason = reason;
      halted = true;
      return store_.PutMigration(state);
    }
    return base::Ok();
  }));
  {
    base::MutexLock lock(tally.mu);
    ++tally.summary.window_failures;
    tally.summary.halted = tally.summary.halted || halted;
  }
  sink_.OnWindowFailed(w, error);
  if (halted) {
    sink_.OnHalted(reason);
    return base::MakeError(base::ErrorKind::kHalted, std::string(kHaltedPrefix) + ": " + reason);
  }
  return base::Ok();
}

}  // namespace fm::migrate
