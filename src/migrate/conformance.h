// Copies the source's conformance resources to the destination before the
// first window, so the destination indexes data by custom search parameters as
// it arrives: custom SearchParameters (those not defined by the FHIR spec) and,
// by config, StructureDefinition, ValueSet, CodeSystem. Every page is copied
// (not only the first), and each refused resource lands in the failures table.
#pragma once

#include <string>
#include <vector>

#include "env/clock.h"
#include "fhir/client.h"
#include "migrate/options.h"
#include "migrate/progress.h"
#include "migrate/rest_loader.h"
#include "store/state_store.h"

namespace fm::migrate {

class ConformanceCopier {
 public:
  ConformanceCopier(const ConformanceOptions& options, fhir::Client& source, RestLoader& loader,
                    store::StateStore& store, ProgressSink& sink, env::Clock& clock);

  // Copies what changed since the last copy (everything the first time).
  // Returns how many resources were sent.
  base::Result<int64_t> Copy();

 private:
  ConformanceOptions options_;
  fhir::Client& source_;
  RestLoader& loader_;
  store::StateStore& store_;
  ProgressSink& sink_;
  env::Clock& clock_;
};

// True for SearchParameters published by the FHIR specification itself.
bool IsBaseSpecSearchParameter(std::string_view resource_json);

}  // namespace fm::migrate
