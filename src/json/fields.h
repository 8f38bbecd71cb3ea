// The scalar members of a small JSON object, for documents that are read for
// a field or two (an OAuth2 token answer, a SMART discovery document), so the
// modules that read them need no JSON library of their own.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace fm::json {

struct Scalar {
  enum class Kind { kString, kNumber, kBool, kNull };
  Kind kind = Kind::kNull;
  std::string text;  // a string's value; a number as JSON writes it; "true"/"false"; ""
};

// The top-level members of `object_text` whose values are strings, numbers,
// booleans or null; nested objects and arrays are left out. kInvalidData when
// the text is not a JSON object (the message never quotes it).
base::Result<std::map<std::string, Scalar>> ReadScalarMembers(std::string_view object_text);

// The string member `name`, or "" when it is absent or not a string.
std::string StringMember(const std::map<std::string, Scalar>& members, const std::string& name);

}  // namespace fm::json
