// Loads resources into the destination as batch (or transaction) Bundles of
// `PUT [type]/[id]`, keeping the source ids so a replay after a crash is
// harmless. Several Bundles are in flight at once (one per worker). A worker
// thread starts with the first full Bundle of its share; what is left in
// shares that never filled one is sent from the calling thread at Drain or
// Finish, so a small window costs no thread hand-off.
//
// Versions of one resource (an export with includeAssociatedData=_history)
// reach the destination in the order they were consumed: each type/id is
// always sent by the same worker, whose Bundles go one after another, and no
// Bundle holds two entries for one type/id. A version older (meta.lastUpdated,
// then numeric meta.versionId) than one already sent for the same resource in
// this session is skipped and counted as loaded, so the newest version stays
// current even when the export lists history newest first; that memory holds
// at least the last RestLoadOptions::version_memory / 2 resources.
//
// Per-entry outcomes: 2xx counts as loaded; 429/5xx entries are re-sent (with
// backoff) up to max_entry_retries and then fail the window; any other 4xx
// puts that resource in the failures table with the server's diagnostics and
// the rest of the window goes on. A whole Bundle refused with 4xx (too large,
// one bad entry poisoning a transaction) is split in halves down to single
// entries, so one bad resource never blocks its neighbours.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "env/clock.h"
#include "fhir/client.h"
#include "migrate/options.h"
#include "migrate/progress.h"
#include "migrate/resource.h"
#include "store/state_store.h"

namespace fm::migrate {

struct LoadTotals {
  std::map<std::string, store::TypeCounts> by_type;
  int64_t loaded = 0;
  int64_t failed = 0;
  // Of `loaded`: older versions not sent because a newer version of the same
  // resource already was (an export listing history newest first).
  int64_t superseded = 0;
};

class LoadSession : public ResourceConsumer {
 public:
  // Queues the resource; blocks when the queue is full. Fails once the
  // session has failed (so the extractor stops early).
  base::Status Consume(Resource resource) override = 0;
  // Sends what is buffered, waits for every Bundle, returns the totals or the
  // first error that failed the window.
  virtual base::Result<LoadTotals> Finish() = 0;
};

class RestLoader {
 public:
  // `source_base_url` is used to rewrite absolute references to relative ones.
  RestLoader(fhir::Client& destination, store::StateStore& store, ProgressSink& sink,
             env::Clock& clock, const RestLoadOptions& options, std::string source_base_url);

  // One session per window attempt. Abandoning a session without Finish stops
  // its workers (nothing more is sent).
  std::unique_ptr<LoadSession> Begin(int64_t window_id);

 private:
  fhir::Client& destination_;
  store::StateStore& store_;
  ProgressSink& sink_;
  env::Clock& clock_;
  RestLoadOptions options_;
  std::string source_base_url_;
};

}  // namespace fm::migrate
