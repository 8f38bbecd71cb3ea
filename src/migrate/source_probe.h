// What the planner needs to know about the source: where its data starts and
// how much of it lies in a window.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fhir/client.h"

namespace fm::migrate {

class SourceProbe {
 public:
  virtual ~SourceProbe() = default;
  // Types to migrate that hold data now (configured list, or every type in the
  // CapabilityStatement with a non-zero count).
  virtual base::Result<std::vector<std::string>> TypesWithData() = 0;
  // Oldest meta.lastUpdated among `types`; nullopt when they are all empty.
  virtual base::Result<std::optional<base::Instant>> Oldest(
      const std::vector<std::string>& types) = 0;
  // Resources of `type` with since <= lastUpdated < till.
  virtual base::Result<int64_t> Count(const std::string& type, base::Instant since,
                                      base::Instant till) = 0;
};

// A probe over plain FHIR search: `_sort=_lastUpdated&_count=1` and
// `_summary=count`, one type at a time (system-level search is not portable).
class FhirSourceProbe : public SourceProbe {
 public:
  FhirSourceProbe(fhir::Client& source, std::vector<std::string> configured_types);
  base::Result<std::vector<std::string>> TypesWithData() override;
  base::Result<std::optional<base::Instant>> Oldest(const std::vector<std::string>& types) override;
  base::Result<int64_t> Count(const std::string& type, base::Instant since,
                              base::Instant till) override;

 private:
  fhir::Client& source_;
  std::vector<std::string> configured_types_;
};

// `_lastUpdated=ge<since>&_lastUpdated=lt<till>` — the half-open window every
// query of the engine uses.
fhir::Params WindowParams(base::Instant since, base::Instant till);

}  // namespace fm::migrate
