// Extracts a window from the source by FHIR search, one type at a time.
//
// Paging is keyset-based, not offset-based: each query asks for
// `_lastUpdated=ge<cursor>&_lastUpdated=lt<till>&_sort=_lastUpdated`, where the
// cursor is the newest lastUpdated seen so far, and drops the ids already
// delivered at that exact instant. A resource updated on the source while the
// window is paged leaves the window (its new lastUpdated is later and a later
// window takes it) without shifting the others, so none is skipped, which
// offset paging (`next` links) cannot promise. Only when a whole page shares
// one instant does it follow the server's `next` link to get past it.
#pragma once

#include <string>
#include <vector>

#include "fhir/client.h"
#include "migrate/extractor.h"
#include "migrate/options.h"
#include "migrate/progress.h"
#include "migrate/resource.h"
#include "store/state_store.h"

namespace fm::migrate {

class SearchExtractor : public Extractor {
 public:
  SearchExtractor(fhir::Client& source, const SearchOptions& options, ProgressSink& sink);

  // Streams every resource of `types` in `window` to `out`; returns how many
  // were delivered per type (same order as `types`).
  base::Result<std::vector<int64_t>> Extract(const store::Window& window,
                                             const std::vector<std::string>& types,
                                             ResourceConsumer& out);

  // Extract of `types`, or only of window.resource_type when it is set.
  base::Result<std::map<std::string, int64_t>> ExtractWindow(
      store::Window& window, const std::vector<std::string>& types,
      ResourceConsumer& out) override;

 private:
  base::Result<int64_t> ExtractType(const store::Window& window, const std::string& type,
                                    ResourceConsumer& out);
  // Emits a delete (a Resource with empty json) for every resource of `type`
  // deleted inside the window and not re-created in it.
  base::Result<int64_t> ExtractDeletes(const store::Window& window, const std::string& type,
                                       ResourceConsumer& out);

  fhir::Client& source_;
  SearchOptions options_;
  ProgressSink& sink_;
};

}  // namespace fm::migrate
