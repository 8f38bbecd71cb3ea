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
  // `_history?_summary=count` totals; nullopt when not asked for or when a
  // server does not support type-level history (then not compared).
  std::optional<int64_t> source_history;
  std::optional<int64_t> destination_history;
  bool matches() const {
    return source == destination &&
           (!source_history || !destination_history || *source_history == *destination_history);
  }
};

struct SurfaceResult {
  std::vector<TypeCount> types;  // sorted by type
  bool passed() const;
};

// Counts `types` (or, when empty, every type in either server's
// CapabilityStatement that has data on either side), optionally only those
// with lastUpdated < `before` (meaningful while a migration still runs).
// With `history`, also the history counts of each type (when both servers
// support them).
base::Result<SurfaceResult> SurfaceCheck(fhir::Client& source, fhir::Client& destination,
                                         const std::vector<std::string>& types,
                                         std::optional<base::Instant> before,
                                         bool history = false);

// `_history?_summary=count` of a type, or nullopt when the server answers
// with an error status or without Bundle.total (history not supported).
// Not bounded by `before`: FHIR history searches cannot express it.
base::Result<std::optional<int64_t>> HistoryCount(fhir::Client& client, const std::string& type,
                                                  std::optional<base::Instant> before);

}  // namespace fm::verify
