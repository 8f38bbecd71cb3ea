// Walks every resource of one type on one server by keyset paging on
// _lastUpdated (like migrate/search_extractor.cc): never skips a resource
// updated meanwhile, delivers ties at one instant once, and holds one page
// plus the ids of the current instant in memory.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "fhir/client.h"

namespace fm::verify {

struct PageOptions {
  int page_size = 1000;
  std::optional<base::Instant> before;  // only lastUpdated < before
  bool ids_only = false;                // adds _elements=id (servers may ignore it)
};

// `raw` is the resource JSON as the server sent it; valid during the call.
using ResourceVisitor =
    std::function<base::Status(const std::string& id, std::string_view raw)>;

// Calls `visit` once per resource of `type`. kInvalidData when the server
// ignores _lastUpdated or _sort, or a resource lacks an id or lastUpdated.
base::Status ForEachResource(fhir::Client& client, const std::string& type,
                             const PageOptions& options, const ResourceVisitor& visit);

}  // namespace fm::verify
