// Keeps an older version of a resource from replacing a newer one on the
// destination when an export lists history newest first: remembers the newest
// version handed to the destination for recently seen resources, and tells
// the loader to skip an older version of one of them that arrives later.
//
// Bounded memory: two generations of at most capacity/2 ids each, so the last
// capacity/2 distinct ids are always remembered and never more than capacity.
// An older version arriving after more distinct ids than that have passed is
// no longer recognised (it is sent, and may become current). Capacity 0
// turns it off: nothing is remembered and nothing is skipped. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "migrate/resource.h"

namespace fm::migrate {

// Whether version `a` of a resource is older than version `b`: by
// meta.lastUpdated, then (equal or missing instants) by numeric meta.versionId.
// nullopt when the two cannot be ordered (no meta, opaque versionIds).
std::optional<bool> IsOlderVersion(const Resource& a, const Resource& b);

class VersionOrder {
 public:
  explicit VersionOrder(size_t capacity);

  // `key` is "type/id" of `r`.
  // True when `r` is older than a version already recorded for `key`: the
  // caller skips it. Otherwise records `r` as the newest known version
  // (unless the two cannot be ordered) and returns false.
  bool Superseded(const std::string& key, const Resource& r);
  // Records `r` as sent without judging it (a version an earlier attempt
  // loaded), unless a newer one is recorded already.
  void Record(const std::string& key, const Resource& r);

 private:
  struct Version {
    std::string version_id;
    std::optional<base::Instant> last_updated;
  };
  const Version* Find(const std::string& key) const;
  void Put(const std::string& key, const Resource& r);

  size_t generation_size_;  // 0: off
  std::unordered_map<std::string, Version> current_;
  std::unordered_map<std::string, Version> previous_;
};

}  // namespace fm::migrate
