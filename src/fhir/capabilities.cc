// CapabilityStatements are small and read once, so a DOM (nlohmann) is fine;
// the nesting guard runs first because the DOM parser has no depth limit.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "fhir/client.h"
#include "json/resource.h"

namespace fm::fhir {
namespace {

using Json = nlohmann::json;

const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string_view StringMember(const Json& object, std::string_view key) {
  const Json* value = Member(object, key);
  return value && value->is_string() ? std::string_view(value->get_ref<const std::string&>())
                                     : std::string_view();
}

const Json& ArrayMember(const Json& object, std::string_view key) {
  static const Json kEmpty = Json::array();
  const Json* value = Member(object, key);
  return value && value->is_array() ? *value : kEmpty;
}

// R4 writes the definition as a canonical string; STU3 as {"reference": ...}.
std::string_view DefinitionOf(const Json& operation) {
  const Json* definition = Member(operation, "definition");
  if (!definition) return {};
  std::string_view url = definition->is_string()
                             ? std::string_view(definition->get_ref<const std::string&>())
                             : StringMember(*definition, "reference");
  return url.substr(0, url.find('|'));  // "...|1.0.0" names a version
}

// Whether `operation` is `kind` ("export", "patient-export", ...) by name or
// by the last path segment of its definition.
bool Is(const Json& operation, std::string_view kind) {
  std::string_view name = StringMember(operation, "name");
  if (base::StartsWith(name, "$")) name.remove_prefix(1);
  std::string suffix = "/" + std::string(kind);
  return name == kind || base::EndsWith(DefinitionOf(operation), suffix);
}

void NoteOperations(const Json& operations, std::string_view resource_type, Capabilities& caps) {
  for (const Json& op : operations) {
    bool is_export = Is(op, "export");
    if (resource_type.empty()) {
      caps.system_export = caps.system_export || is_export;
    }
    if (resource_type.empty() || resource_type == "Patient") {
      caps.patient_export =
          caps.patient_export || Is(op, "patient-export") || (is_export && !resource_type.empty());
    }
    if (resource_type.empty() || resource_type == "Group") {
      caps.group_export =
          caps.group_export || Is(op, "group-export") || (is_export && !resource_type.empty());
    }
    caps.import = caps.import || Is(op, "import");
  }
}

base::Error NotACapabilityStatement(std::string_view reason) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         "not a CapabilityStatement (" + std::string(reason) + ")");
}

}  // namespace

base::Result<Capabilities> ParseCapabilities(std::string_view capability_statement) {
  if (auto nesting = fm::json::CheckNesting(capability_statement); !nesting.ok()) {
    return NotACapabilityStatement(nesting.error().message);
  }
  Json doc = Json::parse(capability_statement, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return NotACapabilityStatement("invalid JSON");
  if (!doc.is_object()) return NotACapabilityStatement("not a JSON object");
  if (StringMember(doc, "resourceType") != "CapabilityStatement") {
    return NotACapabilityStatement("resourceType is not CapabilityStatement");
  }

  Capabilities caps;
  caps.fhir_version = StringMember(doc, "fhirVersion");
  if (const Json* software = Member(doc, "software")) {
    caps.software = StringMember(*software, "name");
    std::string_view version = StringMember(*software, "version");
    if (!version.empty())
      caps.software += (caps.software.empty() ? "" : " ") + std::string(version);
  }
  for (const Json& rest : ArrayMember(doc, "rest")) {
    std::string_view mode = StringMember(rest, "mode");
    if (!mode.empty() && mode != "server") continue;
    NoteOperations(ArrayMember(rest, "operation"), "", caps);
    for (const Json& resource : ArrayMember(rest, "resource")) {
      std::string_view type = StringMember(resource, "type");
      if (type.empty()) continue;
      caps.resource_types.emplace_back(type);
      NoteOperations(ArrayMember(resource, "operation"), type, caps);
    }
  }
  return caps;
}

}  // namespace fm::fhir
