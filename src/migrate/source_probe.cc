#include "migrate/source_probe.h"

#include <algorithm>

#include "json/resource.h"
#include "migrate/options.h"

namespace fm::migrate {

const std::vector<std::string>& ExcludedTypes() {
  // Server bookkeeping, not clinical data; conformance resources are copied
  // separately before the first window.
  static const std::vector<std::string> kExcluded = {
      "Bundle", "OperationOutcome", "Parameters", "CapabilityStatement", "Subscription",
      "AuditEvent", "SearchParameter", "StructureDefinition", "OperationDefinition",
      "CompartmentDefinition", "TerminologyCapabilities", "ImplementationGuide",
      "ValueSet", "CodeSystem", "ConceptMap", "NamingSystem", "StructureMap"};
  return kExcluded;
}

fhir::Params WindowParams(base::Instant since, base::Instant till) {
  return {{"_lastUpdated", "ge" + base::FormatInstant(since)},
          {"_lastUpdated", "lt" + base::FormatInstant(till)}};
}

FhirSourceProbe::FhirSourceProbe(fhir::Client& source, std::vector<std::string> configured_types)
    : source_(source), configured_types_(std::move(configured_types)) {}

base::Result<std::vector<std::string>> FhirSourceProbe::TypesWithData() {
  std::vector<std::string> candidates = configured_types_;
  if (candidates.empty()) {
    FM_ASSIGN_OR_RETURN(auto caps, source_.GetCapabilities());
    const auto& excluded = ExcludedTypes();
    for (const auto& type : caps.resource_types) {
      if (std::find(excluded.begin(), excluded.end(), type) == excluded.end()) {
        candidates.push_back(type);
      }
    }
    if (candidates.empty()) {
      return base::MakeError(base::ErrorKind::kFatal,
                             source_.name() + " lists no resource types in /metadata; "
                                              "set migration.types in the config");
    }
  }
  std::vector<std::string> types;
  for (const auto& type : candidates) {
    FM_ASSIGN_OR_RETURN(int64_t n, source_.Count(type, {}));
    if (n > 0) types.push_back(type);
  }
  return types;
}

base::Result<std::optional<base::Instant>> FhirSourceProbe::Oldest(
    const std::vector<std::string>& types) {
  json::ResourceReader reader;
  std::optional<base::Instant> oldest;
  for (const auto& type : types) {
    FM_ASSIGN_OR_RETURN(auto page,
                        source_.SearchFirst(type, {{"_sort", "_lastUpdated"}, {"_count", "1"}}));
    if (page.resources.empty()) continue;
    FM_ASSIGN_OR_RETURN(auto key, reader.ReadKey(page.resources.front()));
    if (!key.last_updated) {
      return base::MakeError(base::ErrorKind::kInvalidData,
                             source_.name() + " returned a " + type +
                                 " without meta.lastUpdated; set migration.start explicitly");
    }
    if (!oldest || *key.last_updated < *oldest) oldest = key.last_updated;
  }
  return oldest;
}

base::Result<int64_t> FhirSourceProbe::Count(const std::string& type, base::Instant since,
                                             base::Instant till) {
  return source_.Count(type, WindowParams(since, till));
}

}  // namespace fm::migrate
