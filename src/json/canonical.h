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
// Pointers are applied in order; one that matches nothing is skipped.
// Numbers: integers keep their digits; other numbers go through a double, so
// "1.50" and "1.5" (or "1e2" and "100.0") have the same canonical form and a
// change of decimal precision alone is not detected.
// Errors: kInvalidData for text that is not JSON or nests deeper than 256
// levels (the message never quotes content); kFatal for a malformed pointer.
base::Result<std::string> Canonicalize(std::string_view json,
                                       const std::vector<std::string>& ignore);

struct Difference {
  std::string pointer;  // RFC 6901, e.g. "/name/0/given/1"
  std::string left;     // canonical JSON of the value on the left, "" if absent
  std::string right;
};

// Element-by-element comparison (objects by key, arrays by index).
// The ignore pointers are applied to both sides first. A key or array element
// present on one side only is reported at its own pointer with "" on the
// other. Differences are sorted by pointer token by token (keys in byte
// order, array indices numerically); empty when both canonical forms match.
base::Result<std::vector<Difference>> Diff(std::string_view left, std::string_view right,
                                           const std::vector<std::string>& ignore);

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace fm::json
