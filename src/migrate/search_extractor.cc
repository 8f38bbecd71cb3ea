#include "migrate/search_extractor.h"

#include <unordered_set>

#include "fhir/history.h"
#include "json/resource.h"
#include "migrate/source_probe.h"

namespace fm::migrate {
namespace {

base::Error PageError(const std::string& server, const std::string& type, const std::string& what) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         server + " search for " + type + ": " + what);
}

}  // namespace

SearchExtractor::SearchExtractor(fhir::Client& source, const SearchOptions& options,
                                 ProgressSink& sink)
    : source_(source), options_(options), sink_(sink) {}

base::Result<std::vector<int64_t>> SearchExtractor::Extract(const store::Window& window,
                                                            const std::vector<std::string>& types,
                                                            ResourceConsumer& out) {
  std::vector<int64_t> counts;
  for (const auto& type : types) {
    FM_ASSIGN_OR_RETURN(int64_t n, ExtractType(window, type, out));
    if (options_.deletes &&
        (!options_.deletes_after || window.till > *options_.deletes_after)) {
      FM_ASSIGN_OR_RETURN(int64_t d, ExtractDeletes(window, type, out));
      n += d;
    }
    counts.push_back(n);
  }
  return counts;
}

base::Result<std::map<std::string, int64_t>> SearchExtractor::ExtractWindow(
    store::Window& window, const std::vector<std::string>& types, ResourceConsumer& out) {
  // A window of one type (per-type mode) searches that type only.
  const std::vector<std::string> scope =
      window.resource_type.empty() ? types : std::vector<std::string>{window.resource_type};
  FM_ASSIGN_OR_RETURN(auto counts, Extract(window, scope, out));
  std::map<std::string, int64_t> by_type;
  for (size_t i = 0; i < scope.size(); ++i) by_type[scope[i]] += counts[i];
  return by_type;
}

base::Result<int64_t> SearchExtractor::ExtractDeletes(const store::Window& window,
                                                      const std::string& type,
                                                      ResourceConsumer& out) {
  json::ResourceReader reader;
  std::unordered_set<std::string> emitted;
  auto page = fhir::HistoryFirst(source_, type, window.since, options_.page_size);
  while (true) {
    if (!page.ok()) {
      return base::MakeError(page.error().kind,
                             source_.name() + " " + type + "/_history (needed to propagate " +
                                 "deletes; set migration.propagate_deletes=false if the " +
                                 "server has no type history): " + page.error().message);
    }
    for (const auto& d : page->deletions) {
      if (d.type != type || !d.at || *d.at < window.since || *d.at >= window.till) continue;
      if (emitted.count(d.id)) continue;
      // Re-created later inside this window: the search delivered it; a
      // delete now would undo that.
      FM_ASSIGN_OR_RETURN(auto current, source_.Read(type, d.id));
      if (current) {
        FM_ASSIGN_OR_RETURN(auto key, reader.ReadKey(*current));
        if (key.last_updated && *key.last_updated < window.till) continue;
      }
      emitted.insert(d.id);
      FM_TRY_STATUS(out.Consume(Resource{type, d.id, ""}));
    }
    if (!page->next_url) break;
    page = fhir::HistoryNext(source_, *page->next_url);
  }
  return static_cast<int64_t>(emitted.size());
}

base::Result<int64_t> SearchExtractor::ExtractType(const store::Window& window,
                                                   const std::string& type,
                                                   ResourceConsumer& out) {
  json::ResourceReader reader;
  base::Instant cursor = window.since;
  std::unordered_set<std::string> seen_at_cursor;
  int64_t delivered = 0;
  std::optional<std::string> next_url;  // set only while stuck on one instant

  while (true) {
    fhir::SearchPage page;
    if (next_url) {
      FM_ASSIGN_OR_RETURN(page, source_.SearchUrl(*next_url));
    } else {
      fhir::Params params = WindowParams(cursor, window.till);
      params.emplace_back("_sort", "_lastUpdated");
      params.emplace_back("_count", std::to_string(options_.page_size));
      FM_ASSIGN_OR_RETURN(page, source_.SearchFirst(type, params));
    }
    int64_t fresh = 0;
    for (auto& raw : page.resources) {
      auto key = reader.ReadKey(raw);
      if (!key.ok()) return PageError(source_.name(), type, key.error().message);
      if (key->type != type) continue;  // an _include the server did not mark
      if (key->id.empty()) return PageError(source_.name(), type, "a resource has no id");
      if (!key->last_updated) {
        return PageError(source_.name(), type, type + "/" + key->id + " has no meta.lastUpdated");
      }
      base::Instant lu = *key->last_updated;
      if (lu < window.since || lu >= window.till) {
        return PageError(source_.name(), type,
                         type + "/" + key->id + " has lastUpdated " + base::FormatInstant(lu) +
                             " outside the requested window (the server ignores _lastUpdated?)");
      }
      if (lu < cursor) {
        return PageError(source_.name(), type,
                         "results are not sorted by _lastUpdated (the server ignores _sort?)");
      }
      if (lu == cursor && seen_at_cursor.count(key->id)) continue;
      if (lu > cursor) {
        cursor = lu;
        seen_at_cursor.clear();
      }
      seen_at_cursor.insert(key->id);
      ++fresh;
      FM_TRY_STATUS(out.Consume(Resource{std::move(key->type), std::move(key->id), std::move(raw),
                                         std::move(key->version_id), key->last_updated}));
    }
    delivered += fresh;
    if (fresh > 0) sink_.OnResourcesExtracted(window.id, type, fresh);
    if (!page.next_url) break;  // the query is exhausted
    // Stuck on one instant (a full page of ids already seen): walk the
    // server's own links past it; otherwise re-query from the cursor.
    next_url = fresh == 0 ? page.next_url : std::nullopt;
  }
  return delivered;
}

}  // namespace fm::migrate
