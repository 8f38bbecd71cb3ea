#include "migrate/planner.h"

#include <algorithm>
#include <map>

namespace fm::migrate {
namespace {

// Where the windows of each resource_type end ("": the all-type windows).
using Ends = std::map<std::string, base::Instant>;

// End of `type`'s timeline: its own windows and the all-type ones.
std::optional<base::Instant> TimelineEnd(const Ends& ends, const std::string& type) {
  std::optional<base::Instant> end;
  for (const std::string& key : {type, std::string()}) {
    auto it = ends.find(key);
    if (it != ends.end() && (!end || it->second > *end)) end = it->second;
  }
  return end;
}

}  // namespace

Planner::Planner(const PlanOptions& options, store::StateStore& store, SourceProbe& probe,
                 env::Clock& clock, ProgressSink& sink)
    : options_(options), store_(store), probe_(probe), clock_(clock), sink_(sink) {}

base::Result<std::map<std::string, int64_t>> Planner::CountAll(
    const std::vector<std::string>& types, base::Instant since, base::Instant till) {
  std::map<std::string, int64_t> counts;
  for (const auto& type : types) {
    FM_ASSIGN_OR_RETURN(counts[type], probe_.Count(type, since, till));
  }
  return counts;
}

base::Result<PlanResult> Planner::Plan() {
  sink_.OnPlanStarted();
  FM_ASSIGN_OR_RETURN(auto result, PlanWindows());
  FM_TRY_STATUS(AnnounceWork(result));
  return result;
}

base::Status Planner::AnnounceWork(const PlanResult& result) {
  FM_ASSIGN_OR_RETURN(auto pending, store_.ListPendingWindows());
  PlannedWork work;
  work.windows = static_cast<int64_t>(pending.size());
  for (const auto& w : pending) work.resources += std::max<int64_t>(w.expected, 0);
  work.by_type = result.counts;
  sink_.OnPlanned(work);
  return base::Ok();
}

base::Result<PlanResult> Planner::PlanWindows() {
  PlanResult result;
  FM_ASSIGN_OR_RETURN(auto state, store_.GetMigration());
  FM_ASSIGN_OR_RETURN(auto newest, store_.NewestWindows());
  FM_ASSIGN_OR_RETURN(result.types, probe_.TypesWithData());
  Ends ends;
  for (const auto& w : newest) ends[w.resource_type] = w.till;

  // A timeline without windows starts at the migration start.
  std::optional<base::Instant> start = state.start;
  if (options_.start && (newest.empty() || !start)) start = options_.start;
  if (!start) {
    FM_ASSIGN_OR_RETURN(auto oldest, probe_.Oldest(result.types));
    if (!oldest) {
      result.source_empty = true;
      return result;
    }
    start = oldest;
  }
  if (!state.start) {
    state.start = start;
    FM_TRY_STATUS(store_.PutMigration(state));
  }

  base::Instant horizon = clock_.Now() - options_.safety_lag;
  if (options_.end && *options_.end < horizon) horizon = *options_.end;

  std::optional<base::Instant> earliest_end;  // over the timelines, once planned
  auto note_end = [&](base::Instant end) {
    if (!earliest_end || end < *earliest_end) earliest_end = end;
  };
  if (options_.per_type) {
    // Every type with data, and every type that has windows already: a
    // timeline that stopped would hold the watermark back for good.
    std::vector<std::string> types = result.types;
    for (const auto& [type, end] : ends) {
      if (!type.empty() && std::find(types.begin(), types.end(), type) == types.end()) {
        types.push_back(type);
      }
    }
    if (types.empty()) result.source_empty = true;
    for (const auto& type : types) {
      FM_ASSIGN_OR_RETURN(
          auto end, PlanTimeline(type, TimelineEnd(ends, type).value_or(*start), horizon, result));
      note_end(end);
    }
  } else {
    // All-type windows continue from the newest till. A type whose own
    // windows (planned in per-type mode) end before it catches up first, so
    // no type is left with a gap.
    base::Instant since = *start;
    for (const auto& [type, end] : ends) since = std::max(since, end);
    for (const auto& [type, end] : ends) {
      if (type.empty()) continue;
      FM_TRY_STATUS(PlanTimeline(type, *TimelineEnd(ends, type), since, result));
    }
    FM_ASSIGN_OR_RETURN(auto end, PlanTimeline("", since, horizon, result));
    note_end(end);
  }
  result.reached_end = options_.end && earliest_end && *earliest_end >= *options_.end;
  return result;
}

base::Result<base::Instant> Planner::PlanTimeline(const std::string& type, base::Instant since,
                                                  base::Instant until, PlanResult& result) {
  const std::vector<std::string> counted =
      type.empty() ? result.types : std::vector<std::string>{type};
  while (since < until) {
    base::Instant till = std::min(since + options_.window, until);
    int64_t count = 0;
    std::map<std::string, int64_t> counts;
    while (true) {
      FM_ASSIGN_OR_RETURN(counts, CountAll(counted, since, till));
      count = 0;
      for (const auto& [t, n] : counts) count += n;
      auto length = till - since;
      if (count <= options_.max_resources_per_window || length <= options_.min_window) break;
      till = since + std::max<base::Millis>(length / 2, options_.min_window);
    }
    store::Window w;
    w.since = since;
    w.till = till;
    w.resource_type = type;
    w.updated_at = clock_.Now();
    w.expected = count;
    // An empty window needs no extraction: nothing can still arrive in it,
    // because it ends before now - safety_lag.
    w.status = count == 0 ? store::WindowStatus::kLoaded : store::WindowStatus::kPlanned;
    FM_ASSIGN_OR_RETURN(w.id, store_.AddWindow(w));
    sink_.OnWindowPlanned(w);
    for (const auto& [t, n] : counts) result.counts[t] += n;
    ++result.windows_added;
    since = till;
  }
  return since;
}

std::optional<base::Instant> Watermark(const std::vector<store::Window>& windows) {
  struct Timeline {
    std::optional<base::Instant> pending;  // since of the earliest window not loaded
    std::optional<base::Instant> till;     // newest till
    void Add(const Timeline& other) {
      if (other.pending && (!pending || *other.pending < *pending)) pending = other.pending;
      if (other.till && (!till || *other.till > *till)) till = other.till;
    }
  };
  std::map<std::string, Timeline> by_type;  // "": the all-type windows
  for (const auto& w : windows) {
    Timeline one;
    if (w.status != store::WindowStatus::kLoaded) one.pending = w.since;
    one.till = w.till;
    by_type[w.resource_type].Add(one);
  }
  auto all = by_type.find("");
  std::optional<base::Instant> watermark;
  for (const auto& [type, own] : by_type) {
    if (type.empty() && by_type.size() > 1) continue;  // part of every type's timeline
    Timeline t = own;
    if (!type.empty() && all != by_type.end()) t.Add(all->second);
    base::Instant end = t.pending ? *t.pending : *t.till;
    if (!watermark || end < *watermark) watermark = end;
  }
  return watermark;
}

}  // namespace fm::migrate
