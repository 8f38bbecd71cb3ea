// Loads a window whose files the extractor staged (migration.load = import):
// the runner calls it instead of streaming the window through a REST session.
#pragma once

#include "base/result.h"
#include "migrate/rest_loader.h"
#include "store/state_store.h"

namespace fm::migrate {

class WindowLoader {
 public:
  virtual ~WindowLoader() = default;
  // Loads every staged file of the window. The loader records its own per-type
  // counts and failures in the state store, so the returned totals carry only
  // loaded/failed (by_type stays empty). A shortfall against the export's
  // counts without matching errors is an error (the window fails).
  virtual base::Result<LoadTotals> LoadWindow(const store::Window& window) = 0;
};

}  // namespace fm::migrate
