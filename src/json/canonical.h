// Canonical JSON for comparing resources across servers: keys sorted, no
// insignificant whitespace, numbers as written, chosen paths removed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace fm::json {

// `ignore` holds JSON Pointers relative to the resource root ("/meta/versionId").
// An ignored pointer that leaves an empty object removes that object too.
base::Result<std::string> Canonicalize(std::string_view json,
                                       const std::vector<std::string>& ignore);

struct Difference {
  std::string pointer;  // RFC 6901, e.g. "/name/0/given/1"
  std::string left;     // canonical JSON of the value on the left, "" if absent
  std::string right;
};

// Element-by-element comparison (objects by key, arrays by index).
base::Result<std::vector<Difference>> Diff(std::string_view left, std::string_view right,
                                           const std::vector<std::string>& ignore);

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace fm::json
