// How a window's resources are read from the source. Implementations: search
// paging (SearchExtractor) and Bulk Data $export.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "migrate/resource.h"
#include "store/state_store.h"

namespace fm::migrate {

class Extractor {
 public:
  virtual ~Extractor() = default;
  // Streams every resource of `window` (of `types`) to `out` and returns how
  // many were delivered per type. May update and persist fields of `window`
  // (export status URL, manifest, transactionTime) through the state store;
  // the runner reloads the window from the store after this call.
  virtual base::Result<std::map<std::string, int64_t>> ExtractWindow(
      store::Window& window, const std::vector<std::string>& types, ResourceConsumer& out) = 0;
};

}  // namespace fm::migrate
