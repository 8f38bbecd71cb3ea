#include "verify/deep.h"

#include <algorithm>
#include <set>

#include "json/resource.h"
#include "verify/pager.h"

namespace fm::verify {
namespace {

// SplitMix64: tiny, portable, good enough for sampling.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (rejection removes modulo bias).
  uint64_t Below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = Next(); while (x >= limit);
    return x % n;
  }

 private:
  uint64_t state_;
};

uint64_t SeedFor(uint64_t seed, const std::string& type) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the type name
  for (unsigned char c : type) h = (h ^ c) * 1099511628211ull;
  return seed ^ h;
}

fhir::Params BaseParams(const DeepOptions& o) {
  fhir::Params p;
  if (o.before) p.emplace_back("_lastUpdated", "lt" + base::FormatInstant(*o.before));
  p.emplace_back("_sort", "_lastUpdated");
  return p;
}

// The id at position `offset` of the sorted search, or nullopt when the
// page is empty.
base::Result<std::optional<std::string>> IdAt(fhir::Client& c, const std::string& type,
                                              int64_t offset, const DeepOptions& o,
                                              json::ResourceReader& reader) {
  fhir::Params p = BaseParams(o);
  p.emplace_back("_count", "1");
  p.emplace_back("_offset", std::to_string(offset));
  FM_ASSIGN_OR_RETURN(auto page, c.SearchFirst(type, p));
  for (const auto& raw : page.resources) {
    auto key = reader.ReadKey(raw);
    if (key.ok() && key->type == type && !key->id.empty()) return std::optional(key->id);
  }
  return std::optional<std::string>();
}

// Offsets 0 and 1 give different ids when the server honours _offset.
base::Result<bool> OffsetSupported(fhir::Client& c, const std::string& type, int64_t n,
                                   const DeepOptions& o, json::ResourceReader& reader) {
  if (n < 2) return true;
  FM_ASSIGN_OR_RETURN(auto first, IdAt(c, type, 0, o, reader));
  FM_ASSIGN_OR_RETURN(auto last, IdAt(c, type, n - 1, o, reader));
  return first && last && *first != *last;
}

base::Result<std::vector<std::string>> Reservoir(fhir::Client& c, const std::string& type,
                                                 const DeepOptions& o) {
  Rng rng(SeedFor(o.seed, type));
  std::vector<std::string> sample;
  int64_t seen = 0;
  PageOptions po;
  po.page_size = o.page_size;
  po.before = o.before;
  po.ids_only = true;
  FM_TRY_STATUS(ForEachResource(c, type, po, [&](const std::string& id, std::string_view) {
    ++seen;
    if (static_cast<int64_t>(sample.size()) < o.per_type) {
      sample.push_back(id);
    } else {
      uint64_t j = rng.Below(static_cast<uint64_t>(seen));
      if (j < static_cast<uint64_t>(o.per_type)) sample[j] = id;
    }
    return base::Ok();
  }));
  return sample;
}

}  // namespace

bool DeepResult::passed() const {
  return std::all_of(types.begin(), types.end(),
                     [](const DeepType& t) { return t.mismatches.empty() && !t.count_differs(); });
}

std::vector<int64_t> SampleOffsets(uint64_t seed, const std::string& type, int64_t n, int64_t k) {
  std::vector<int64_t> out;
  if (n <= 0 || k <= 0) return out;
  if (k >= n) {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  // Floyd's algorithm: k distinct values with k draws, O(k) memory.
  Rng rng(SeedFor(seed, type));
  std::set<int64_t> chosen;
  for (int64_t j = n - k; j < n; ++j) {
    auto t = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  return out;
}

base::Result<DeepResult> DeepCheck(fhir::Client& source, fhir::Client& destination,
                                   const std::vector<std::string>& types,
                                   const std::vector<int64_t>& counts, const DeepOptions& options,
                                   const std::vector<int64_t>& destination_counts) {
  DeepResult result;
  json::ResourceReader reader;
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string& type = types[i];
    DeepType dt;
    dt.type = type;
    dt.population = i < counts.size() ? counts[i] : 0;
    if (i < destination_counts.size()) dt.destination = destination_counts[i];
    std::vector<std::string> ids;
    if (dt.population > 0 && options.per_type > 0) {
      FM_ASSIGN_OR_RETURN(bool offsets, OffsetSupported(source, type, dt.population, options, reader));
      if (offsets) {
        dt.method = "offset";
        for (int64_t k : SampleOffsets(options.seed, type, dt.population, options.per_type)) {
          FM_ASSIGN_OR_RETURN(auto id, IdAt(source, type, k, options, reader));
          if (id) ids.push_back(*id);
        }
      } else {
        dt.method = "reservoir";
        FM_ASSIGN_OR_RETURN(ids, Reservoir(source, type, options));
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const auto& id : ids) {
      FM_ASSIGN_OR_RETURN(auto left, source.Read(type, id));
      if (!left) continue;  // deleted on the source meanwhile
      ++dt.sampled;
      FM_ASSIGN_OR_RETURN(auto right, destination.Read(type, id));
      ResourceDiff rd;
      rd.id = id;
      if (!right) {
        rd.missing = true;
      } else {
        auto diff = json::Diff(*left, *right, options.ignore);
        if (!diff.ok()) {
          diff.error().message = type + "/" + id + ": " + diff.error().message;
          return diff.error();
        }
        rd.differences = std::move(*diff);
      }
      if (rd.missing || !rd.differences.empty()) dt.mismatches.push_back(std::move(rd));
    }
    result.types.push_back(std::move(dt));
  }
  return result;
}

}  // namespace fm::verify
