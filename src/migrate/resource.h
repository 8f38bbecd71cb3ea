// A resource on its way from an extractor to a loader: raw JSON bytes plus the
// keys the loader needs. The bytes are never parsed into a DOM on this path.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "base/time.h"

namespace fm::migrate {

struct Resource {
  std::string type;
  std::string id;
  std::string json;  // empty: a deletion
  // meta.versionId and meta.lastUpdated when the extractor read them: the
  // loader uses them to keep an older version from replacing a newer one.
  std::string version_id;
  std::optional<base::Instant> last_updated;
};

class ResourceConsumer {
 public:
  virtual ~ResourceConsumer() = default;
  // May block (back-pressure). An error means "stop extracting": the window
  // failed downstream.
  virtual base::Status Consume(Resource resource) = 0;
  // Returns once every resource consumed so far is acknowledged by the
  // destination (loaded, or recorded in failures): a checkpoint may then
  // cover them. Consumers that do not buffer have nothing to wait for.
  virtual base::Status Drain() { return base::Ok(); }
  // `r` (json empty) was loaded by an earlier attempt that a checkpoint
  // covers: nothing is sent, but an older version of it consumed later must
  // not replace it.
  virtual void AlreadyLoaded(const Resource& /*r*/) {}
};

}  // namespace fm::migrate
