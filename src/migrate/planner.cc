#include "migrate/planner.h"

#include <algorithm>

namespace fm::migrate {

Planner::Planner(const PlanOptions& options, store::StateStore& store, SourceProbe& probe,
                 env::Clock& clock, ProgressSink& sink)
    : options_(options), store_(store), probe_(probe), clock_(clock), sink_(sink) {}

base::Result<int64_t> Planner::CountAll(const std::vector<std::string>& types,
                                        base::Instant since, base::Instant till) {
  int64_t total = 0;
  for (const auto& type : types) {
    FM_ASSIGN_OR_RETURN(int64_t n, probe_.Count(type, since, till));
    total += n;
  }
  return total;
}

base::Result<PlanResult> Planner::Plan() {
  sink_.OnPlanStarted();
  PlanResult result;
  FM_ASSIGN_OR_RETURN(auto state, store_.GetMigration());
  FM_ASSIGN_OR_RETURN(auto last, store_.LastWindow());
  FM_ASSIGN_OR_RETURN(result.types, probe_.TypesWithData());

  std::optional<base::Instant> since;
  if (last) since = last->till;
  if (!since) since = options_.start ? options_.start : state.start;
  if (!since) {
    FM_ASSIGN_OR_RETURN(auto oldest, probe_.Oldest(result.types));
    if (!oldest) {
      result.source_empty = true;
      return result;
    }
    since = oldest;
  }
  if (!state.start) {
    state.start = since;
    FM_TRY_STATUS(store_.PutMigration(state));
  }

  base::Instant horizon = clock_.Now() - options_.safety_lag;
  if (options_.end && *options_.end < horizon) horizon = *options_.end;
  result.reached_end = options_.end.has_value() && *since >= *options_.end;

  while (*since < horizon) {
    base::Instant till = std::min(*since + options_.window, horizon);
    int64_t count = 0;
    while (true) {
      FM_ASSIGN_OR_RETURN(count, CountAll(result.types, *since, till));
      auto length = till - *since;
      if (count <= options_.max_resources_per_window || length <= options_.min_window) break;
      till = *since + std::max<base::Millis>(length / 2, options_.min_window);
    }
    store::Window w;
    w.since = *since;
    w.till = till;
    w.updated_at = clock_.Now();
    // An empty window needs no extraction: nothing can still arrive in it,
    // because it ends before now - safety_lag.
    w.status = count == 0 ? store::WindowStatus::kLoaded : store::WindowStatus::kPlanned;
    FM_ASSIGN_OR_RETURN(w.id, store_.AddWindow(w));
    sink_.OnWindowPlanned(w);
    ++result.windows_added;
    since = till;
  }
  if (options_.end && *since >= *options_.end) result.reached_end = true;
  return result;
}

std::optional<base::Instant> ContiguousWatermark(const std::vector<store::Window>& windows) {
  std::optional<base::Instant> watermark;
  for (const auto& w : windows) {
    if (w.status != store::WindowStatus::kLoaded) break;
    if (watermark && w.since > *watermark) break;  // a gap: never skip over it
    watermark = std::max(watermark.value_or(w.till), w.till);
  }
  return watermark;
}

}  // namespace fm::migrate
