// Fast reads of the few fields the engine needs from a raw resource, without
// building a DOM (simdjson on demand). Not thread-safe: one per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace fm::json {

// The meta extension with which a server marks a deleted version it exports
// (Azure `includeAssociatedData=_deleted`): valueString "soft-deleted".
inline constexpr std::string_view kDeletedStateExtension =
    "http://azurehealthcareapis.com/data-extensions/deleted-state";

struct ResourceKey {
  std::string type;
  std::string id;
  std::string version_id;                  // empty when absent
  std::optional<base::Instant> last_updated;
  // meta.extension holds kDeletedStateExtension = "soft-deleted": this is a
  // deleted version, not a resource that exists.
  bool soft_deleted = false;
};

class ResourceReader {
 public:
  ResourceReader();
  ~ResourceReader();
  // kInvalidData when the text is not a JSON object with a string
  // resourceType; id may be empty (caller decides).
  // Also kInvalidData: an empty resourceType, a non-string id/versionId, a
  // non-object meta, a lastUpdated that ParseInstant refuses, text after the
  // object. Messages name the field, never quote content. Not a validator:
  // values it skips are only scanned (UTF-8, string quoting), so a syntax
  // error inside one (`"x":[1,]`) can pass; Canonicalize validates fully.
  base::Result<ResourceKey> ReadKey(std::string_view resource_json);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Replaces absolute references under `base_url` ("http://src/fhir/Patient/1")
// with relative ones ("Patient/1") in every "reference" string. Returns the
// input unchanged (no copy on the fast path) when base_url does not occur.
// base_url may end in '/' or not. Only string values of keys spelled exactly
// "reference" change, and only when what follows the base looks like
// "Type/id..."; a prefix written with "\/" escapes matches too.
std::string RewriteAbsoluteReferences(std::string_view resource_json, std::string_view base_url);

// Cheap pre-check (a substring search, no copy): false means RewriteAbsoluteReferences
// would return its input unchanged, so a caller may keep its own buffer.
bool MayHaveAbsoluteReferences(std::string_view resource_json, std::string_view base_url);

// Depth and size guard for documents parsed into a DOM (manifests, bundles,
// OperationOutcomes): kInvalidData when nesting exceeds max_depth.
base::Status CheckNesting(std::string_view json, int max_depth = 256);

}  // namespace fm::json
