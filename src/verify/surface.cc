#include "verify/surface.h"

#include <algorithm>
#include <set>

namespace fm::verify {

bool SurfaceResult::passed() const {
  return std::all_of(types.begin(), types.end(), [](const TypeCount& t) { return t.matches(); });
}

base::Result<SurfaceResult> SurfaceCheck(fhir::Client& source, fhir::Client& destination,
                                         const std::vector<std::string>& types,
                                         std::optional<base::Instant> before) {
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
    FM_ASSIGN_OR_RETURN(tc.destination, destination.Count(type, params));
    if (only_with_data && tc.source == 0 && tc.destination == 0) continue;
    result.types.push_back(tc);
  }
  return result;
}

}  // namespace fm::verify
