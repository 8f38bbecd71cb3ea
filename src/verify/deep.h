// Deep check: a reproducible random sample of N resources per type, read
// from both servers and compared element by element (json::Diff).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/client.h"
#include "json/canonical.h"

namespace fm::verify {

inline constexpr uint64_t kDefaultSeed = 20240101;

struct DeepOptions {
  int per_type = 10;                      // sample size N per type
  uint64_t seed = kDefaultSeed;           // same seed + same data = same sample
  std::vector<std::string> ignore;        // JSON Pointers removed before comparing
  std::optional<base::Instant> before;    // sample only lastUpdated < before
  int page_size = 1000;                   // reservoir fallback paging
};

struct ResourceDiff {
  std::string id;
  bool missing = false;                   // not on the destination
  std::vector<json::Difference> differences;
};

struct DeepType {
  std::string type;
  int64_t population = 0;                 // source count sampled from
  std::optional<int64_t> destination;     // destination count, when known
  int64_t sampled = 0;
  std::string method;                     // "offset" | "reservoir"
  std::vector<ResourceDiff> mismatches;   // sorted by id
  // The counts differ: resources are missing or extra whatever the sample saw.
  bool count_differs() const { return destination && *destination != population; }
};

struct DeepResult {
  std::vector<DeepType> types;
  // No sampled mismatch and no count difference: a sample that missed the
  // resources behind a count difference proves nothing.
  bool passed() const;
};

// Picks `k` distinct values of [0, n) from a SplitMix64 stream seeded with
// `seed` and the type name: portable, so a sample is the same on every
// platform. Sorted ascending.
std::vector<int64_t> SampleOffsets(uint64_t seed, const std::string& type, int64_t n, int64_t k);

// Samples each type: `_count=1&_offset=k` at the sampled offsets when the
// source honours _offset, else one pass of id paging with a seeded reservoir
// (memory: N ids). Each sampled resource is read from both sides.
// `counts[i]` is the source count of `types[i]` (from the surface check),
// `destination_counts[i]` (when given) the destination's, compared with it.
base::Result<DeepResult> DeepCheck(fhir::Client& source, fhir::Client& destination,
                                   const std::vector<std::string>& types,
                                   const std::vector<int64_t>& counts, const DeepOptions& options,
                                   const std::vector<int64_t>& destination_counts = {});

}  // namespace fm::verify
