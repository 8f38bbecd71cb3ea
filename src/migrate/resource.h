// A resource on its way from an extractor to a loader: raw JSON bytes plus the
// keys the loader needs. The bytes are never parsed into a DOM on this path.
#pragma once

#include <string>

#include "base/result.h"

namespace fm::migrate {

struct Resource {
  std::string type;
  std::string id;
  std::string json;
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
};

}  // namespace fm::migrate
