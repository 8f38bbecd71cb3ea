// Cuts time into half-open windows [since, till) and records them in the
// state store. Windows are contiguous: each new window starts at the till of
// the newest recorded one, so nothing can fall between two windows.
#pragma once

#include <string>
#include <vector>

#include "env/clock.h"
#include "migrate/options.h"
#include "migrate/progress.h"
#include "migrate/source_probe.h"
#include "store/state_store.h"

namespace fm::migrate {

struct PlanResult {
  int windows_added = 0;
  bool source_empty = false;      // nothing to migrate yet
  bool reached_end = false;       // specific run: every window up to `end` is planned
  std::vector<std::string> types; // types with data, as probed
};

class Planner {
 public:
  Planner(const PlanOptions& options, store::StateStore& store, SourceProbe& probe,
          env::Clock& clock, ProgressSink& sink);

  // Plans windows from the newest recorded till up to now - safety_lag (or
  // `end`). Each window is committed on its own, so a crash mid-planning
  // resumes at the last committed till.
  base::Result<PlanResult> Plan();

 private:
  base::Result<int64_t> CountAll(const std::vector<std::string>& types, base::Instant since,
                                 base::Instant till);

  PlanOptions options_;
  store::StateStore& store_;
  SourceProbe& probe_;
  env::Clock& clock_;
  ProgressSink& sink_;
};

// Till of the longest run of loaded windows from the first one, or nullopt
// when the first window is not loaded. Windows must be sorted by since.
std::optional<base::Instant> ContiguousWatermark(const std::vector<store::Window>& windows);

}  // namespace fm::migrate
