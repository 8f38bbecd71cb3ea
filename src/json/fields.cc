#include "json/fields.h"

#include <nlohmann/json.hpp>

namespace fm::json {

base::Result<std::map<std::string, Scalar>> ReadScalarMembers(std::string_view object_text) {
  auto doc = nlohmann::json::parse(object_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return base::MakeError(base::ErrorKind::kInvalidData, "not a JSON object");
  }
  std::map<std::string, Scalar> out;
  for (const auto& [name, value] : doc.items()) {
    Scalar s;
    if (value.is_string()) {
      s.kind = Scalar::Kind::kString;
      s.text = value.get<std::string>();
    } else if (value.is_number()) {
      s.kind = Scalar::Kind::kNumber;
      s.text = value.dump();
    } else if (value.is_boolean()) {
      s.kind = Scalar::Kind::kBool;
      s.text = value.get<bool>() ? "true" : "false";
    } else if (!value.is_null()) {
      continue;  // object or array
    }
    out.emplace(name, std::move(s));
  }
  return out;
}

std::string StringMember(const std::map<std::string, Scalar>& members, const std::string& name) {
  auto it = members.find(name);
  return it != members.end() && it->second.kind == Scalar::Kind::kString ? it->second.text : "";
}

}  // namespace fm::json
