#include "verify/surface.h"

#include <algorithm>
#include <set>

namespace fm::verify {

bool SurfaceResult::passed() const {
  return std::all_of(types.begin(), types.end(), [](const TypeCount& t) { return t.matches(); });
}

base::Result<SurfaceResult> SurfaceCheck(fhir::Client& source, fhir::Client& destination,
                                         const std::vector<std::string>& types,
                                         std::optional<base::Instant> before, bool history) {
  std::set<std::string> candidates(types.begin(), types.end());
  bool only_with_data = candidates.empty();
  if (candidates.empty()) {
    for (fhir::Client* c : {&source, &destination}) {
      FM_ASSIGN_OR_RETURN(auto caps, c->GetCapabilities());
      candidates.insert(caps.resource_types.begin(), caps.resource_types.end());
    }
  }
  fhir::Params params;
  if (before) params.emplace_back("_lastUpdated", "lt" + base::FormatInstant(*before));
  SurfaceResult result;
  for (const auto& type : candidates) {
    TypeCount tc;
    tc.type = type;
    FM_ASSIGN_OR_RETURN(tc.source, source.Count(type, params));
    // The bound is on the source's clock; a destination loaded by REST stamps
    // its own lastUpdated, so it is counted whole.
    FM_ASSIGN_OR_RETURN(tc.destination, destination.Count(type, {}));
    if (only_with_data && tc.source == 0 && tc.destination == 0) continue;
    if (history) {
      FM_ASSIGN_OR_RETURN(tc.source_history, HistoryCount(source, type, before));
      FM_ASSIGN_OR_RETURN(tc.destination_history, HistoryCount(destination, type, before));
    }
    result.types.push_back(tc);
  }
  return result;
}

base::Result<std::optional<int64_t>> HistoryCount(fhir::Client& client, const std::string& type,
                                                  std::optional<base::Instant> before) {
  // FHIR history has no "lastUpdated before" filter (only _since and _at),
  // so history counts are never bounded by the watermark.
  (void)before;
  fhir::Params params = {{"_summary", "count"}};
  http::Request request;
  request.url = client.Url(type + "/_history", params);
  auto response = client.SendRaw(std::move(request));
  if (!response.ok()) {
    // A network failure is an error; a refusal means "not supported".
    if (response.error().http_status == 0) return response.error();
    return std::optional<int64_t>();
  }
  if (response->status < 200 || response->status >= 300) return std::optional<int64_t>();
  auto page = fhir::ParseSearchPage(std::move(response->body), client.base_url(), false);
  if (!page.ok() || !page->total) return std::optional<int64_t>();
  return std::optional<int64_t>(*page->total);
}

}  // namespace fm::verify
