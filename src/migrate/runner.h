// The orchestrator: plans windows, extracts and loads them, records every
// step in the state store, and moves the watermark only over a contiguous run
// of fully loaded windows of every type (Watermark in planner.h). A failed
// window is retried with backoff up to max_attempts; then the migration halts
// and the watermark stays before it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "env/clock.h"
#include "migrate/extractor.h"
#include "migrate/options.h"
#include "migrate/planner.h"
#include "migrate/progress.h"
#include "migrate/rest_loader.h"
#include "migrate/window_loader.h"
#include "store/state_store.h"

namespace fm::migrate {

struct RunSummary {
  int windows_loaded = 0;
  int window_failures = 0;  // failed attempts during this run
  int64_t resources_loaded = 0;
  int64_t resources_failed = 0;
  bool halted = false;
  bool interrupted = false;
  bool source_empty = false;
  std::optional<base::Instant> watermark;
};

// Error message prefix of a halted migration (kind kHalted).
inline constexpr const char* kHaltedPrefix = "migration is halted";
// Starts the error of a run whose servers are not those the state store
// belongs to (MigrationOptions::identity; kind kOtherMigration).
inline constexpr const char* kOtherMigrationPrefix = "the state store belongs to another migration";

// Whether windows load strictly one at a time, oldest first: bulk export with
// includeAssociatedData=_history loaded by REST, where versions of one
// resource span windows and a window loaded after a later one (a retry, a
// window in flight beside it) would make an older version current. A failed
// window then holds back the windows after it until it is loaded.
bool LoadsWindowsInOrder(const MigrationOptions& options);

// migration.pause_in_flight = stop: the clock given to the extractors and the
// REST loader. It is `inner`, except that it also reads as interrupted while
// the daily pause is on, so work in flight stops at its next checkpoint (a
// window stopped so goes back to planned, as after SIGINT). The runner keeps
// `inner`, waits out the pause and starts the windows again.
std::unique_ptr<env::Clock> StopDuringPause(env::Clock& inner, const RunOptions& options);

class Runner {
 public:
  Runner(const MigrationOptions& options, store::StateStore& store, Planner& planner,
         Extractor& extractor, RestLoader& loader, ProgressSink& sink, env::Clock& clock);

  // Plans, then loads every planned window; failed windows are retried after
  // their backoff within this run. Returns when all are loaded, on halt
  // (kHalted, message starting with kHaltedPrefix), on a storage error
  // (kStorage: a full disk stops the run without counting an attempt) or
  // when the clock is interrupted.
  base::Result<RunSummary> RunOnce();

  // RunOnce, then plan again every poll_interval until interrupted (or, with
  // an end date, until every window up to it is loaded).
  base::Result<RunSummary> Follow();

  // Runs before any window of every RunOnce (conformance resources first).
  void SetConformanceCopier(class ConformanceCopier* copier) { conformance_ = copier; }

  // migration.load = import: after the extractor staged a window (it streams
  // nothing into the session), this loader loads it instead of the REST session.
  void SetWindowLoader(WindowLoader* loader) { window_loader_ = loader; }

 private:
  // The summary of one RunOnce: every window thread adds to it.
  struct Tally {
    base::Mutex mu;
    RunSummary summary FM_GUARDED_BY(mu);
  };
  base::Status AttemptWindow(store::Window w, const std::vector<std::string>& types, Tally& tally);
  base::Status RecordSuccess(store::Window& w, const std::vector<std::string>& types,
                             const std::map<std::string, int64_t>& extracted,
                             const LoadTotals& totals);
  base::Status RecordFailure(store::Window& w, const base::Error& error, Tally& tally);
  base::Millis Backoff(int attempts) const;
  // Sends the deletions an extractor recorded for the window (bulk deleted[]),
  // counting them in `read` too.
  base::Status ApplyRecordedDeletions(const store::Window& w, LoadTotals& totals,
                                      std::map<std::string, int64_t>& read);

  MigrationOptions options_;
  store::StateStore& store_;
  Planner& planner_;
  Extractor& extractor_;
  RestLoader& loader_;
  ProgressSink& sink_;
  env::Clock& clock_;
  class ConformanceCopier* conformance_ = nullptr;
  WindowLoader* window_loader_ = nullptr;
};

}  // namespace fm::migrate
