#include "verify/pager.h"

#include <unordered_set>

#include "json/resource.h"

namespace fm::verify {
namespace {

base::Error PageError(const fhir::Client& c, const std::string& type, const std::string& what) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         c.name() + " search for " + type + ": " + what);
}

}  // namespace

base::Status ForEachResource(fhir::Client& client, const std::string& type,
                             const PageOptions& options, const ResourceVisitor& visit) {
  json::ResourceReader reader;
  std::optional<base::Instant> cursor;
  std::unordered_set<std::string> seen_at_cursor;
  std::optional<std::string> next_url;  // set only while stuck on one instant
  while (true) {
    fhir::SearchPage page;
    if (next_url) {
      FM_ASSIGN_OR_RETURN(page, client.SearchUrl(*next_url));
    } else {
      fhir::Params params;
      if (cursor) params.emplace_back("_lastUpdated", "ge" + base::FormatInstant(*cursor));
      if (options.before) {
        params.emplace_back("_lastUpdated", "lt" + base::FormatInstant(*options.before));
      }
      params.emplace_back("_sort", "_lastUpdated");
      params.emplace_back("_count", std::to_string(options.page_size));
      if (options.ids_only) params.emplace_back("_elements", "id");
      FM_ASSIGN_OR_RETURN(page, client.SearchFirst(type, params));
    }
    int64_t fresh = 0;
    for (const auto& raw : page.resources) {
      auto key = reader.ReadKey(raw);
      if (!key.ok()) return PageError(client, type, key.error().message);
      if (key->type != type) continue;  // an _include the server did not mark
      if (key->id.empty()) return PageError(client, type, "a resource has no id");
      if (!key->last_updated) {
        // _elements=id may drop meta: the caller asked for ids only, so
        // fall back to following the server's own links.
        if (!options.ids_only) {
          return PageError(client, type, type + "/" + key->id + " has no meta.lastUpdated");
        }
      } else {
        base::Instant lu = *key->last_updated;
        if (options.before && lu >= *options.before) {
          return PageError(client, type,
                           type + "/" + key->id + " has lastUpdated " + base::FormatInstant(lu) +
                               " outside the requested range (the server ignores _lastUpdated?)");
        }
        if (cursor && lu < *cursor) {
          return PageError(client, type,
                           "results are not sorted by _lastUpdated (the server ignores _sort?)");
        }
        if (cursor && lu == *cursor && seen_at_cursor.count(key->id)) continue;
        if (!cursor || lu > *cursor) {
          cursor = lu;
          seen_at_cursor.clear();
        }
        seen_at_cursor.insert(key->id);
      }
      ++fresh;
      FM_TRY_STATUS(visit(key->id, raw));
    }
    if (!page.next_url) break;
    // Stuck on one instant (a full page already seen), or ids without
    // lastUpdated: walk the server's links; otherwise re-query from the cursor.
    next_url = (fresh == 0 || !cursor) ? page.next_url : std::nullopt;
  }
  return base::Ok();
}

}  // namespace fm::verify
