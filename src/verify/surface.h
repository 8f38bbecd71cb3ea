// Surface check: per-type counts on both sides.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fhir/client.h"

namespace fm::verify {

struct TypeCount {
  std::string type;
  int64_t source = 0;
  int64_t destination = 0;
  bool matches() const { return source == destination; }
};

struct SurfaceResult {
  std::vector<TypeCount> types;  // sorted by type
  bool passed() const;
};

// Counts `types` (or, when empty, every type in either server's
// CapabilityStatement that has data on either side), optionally only those
// with lastUpdated < `before` (meaningful while a migration still runs).
base::Result<SurfaceResult> SurfaceCheck(fhir::Client& source, fhir::Client& destination,
                                         const std::vector<std::string>& types,
                                         std::optional<base::Instant> before);

}  // namespace fm::verify
