// Cuts time into half-open windows [since, till) and records them in the
// state store. Every resource type has a timeline: its own windows plus the
// all-type windows (resource_type ""). Timelines are contiguous: each new
// window starts where its timeline ends, so nothing can fall between two
// windows. By default windows are all-type; in per-type mode
// (PlanOptions::per_type) each type gets windows of its own, cut by its own
// count, and its timeline moves on independently of the others.
#pragma once

#include <map>
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
  bool source_empty = false;       // nothing to migrate yet
  bool reached_end = false;        // specific run: every window up to `end` is planned
  std::vector<std::string> types;  // types with data, as probed
  // The source's count per type of the windows planned now.
  std::map<std::string, int64_t> counts;
};

class Planner {
 public:
  Planner(const PlanOptions& options, store::StateStore& store, SourceProbe& probe,
          env::Clock& clock, ProgressSink& sink);

  // Plans windows from where each timeline ends up to now - safety_lag (or
  // `end`). Each window is committed on its own, so a crash mid-planning
  // resumes at the last committed till. Tells the sink what there is to copy
  // (OnPlanned) once done.
  base::Result<PlanResult> Plan();

 private:
  base::Result<PlanResult> PlanWindows();
  base::Status AnnounceWork(const PlanResult& result);
  // The source's count of each type in [since, till).
  base::Result<std::map<std::string, int64_t>> CountAll(const std::vector<std::string>& types,
                                                        base::Instant since, base::Instant till);
  // Records windows of `type` ("" = all of result.types) over [since, until),
  // each halved until it counts at most max_resources_per_window; returns
  // where the timeline ends then (max of since and until).
  base::Result<base::Instant> PlanTimeline(const std::string& type, base::Instant since,
                                           base::Instant until, PlanResult& result);

  PlanOptions options_;
  store::StateStore& store_;
  SourceProbe& probe_;
  env::Clock& clock_;
  ProgressSink& sink_;
};

// The migration watermark: every resource updated before it is loaded,
// whatever its type. A type's timeline (its windows and the all-type ones) is
// loaded up to the since of its earliest window not loaded, else up to its
// newest till; the watermark is the earliest of these ends over the types
// that have windows of their own (only all-type windows: their end). nullopt
// without windows; the first since when nothing is loaded yet.
// REQUIRES: `windows` holds every window not loaded and the newest window of
// each resource_type (ListPendingWindows and NewestWindows; all windows work
// too). Timelines are contiguous (the planner's invariant).
std::optional<base::Instant> Watermark(const std::vector<store::Window>& windows);

}  // namespace fm::migrate
