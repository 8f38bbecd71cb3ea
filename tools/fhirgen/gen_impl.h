// Internal: generator state machine shared by gen_core.cc (sequencing, ids,
// timestamps), gen_admin.cc (Organization/Practitioner/Patient) and
// gen_clinical.cc (Encounter/Observation/Condition/MedicationRequest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gen_catalog.h"
#include "gen_rng.h"
#include "generator.h"

namespace fhirgen::detail {

// Attributes of a practitioner/organization derived from (seed, index), so
// references can carry a display name without storing anything.
struct PersonName {
  const char* given;
  const char* family;
  bool female;
};

struct PatientState {
  uint64_t n = 0;              // patient ordinal (id suffix)
  PersonName name{};
  const Locale* locale = nullptr;
  int64_t birth_ms = 0;
  uint64_t gp = 0;             // general practitioner ordinal
  uint64_t org = 0;            // managing organization ordinal
  int64_t last_condition = -1; // ordinal of this patient's latest Condition
  // plan for this patient's resources
  int n_enc = 0, enc_k = 0;
  int n_obs = 0, n_cond = 0, n_med = 0;
};

struct EncounterState {
  uint64_t n = 0;
  const EncTypeDef* type = nullptr;
  int64_t start_ms = 0, end_ms = 0;
  uint64_t prac = 0;
  uint64_t org = 0;
  int obs_left = 0, cond_left = 0, med_left = 0;
};

class GeneratorImpl {
 public:
  explicit GeneratorImpl(const GenOptions& options);
  bool Next(std::string& out);
  ResourceType last_type() const { return last_type_; }
  uint64_t emitted() const { return emitted_; }

 private:
  // --- gen_core.cc ---
  // Picks meta.lastUpdated: usually `natural` (if inside the window) or a
  // uniform time, sometimes deliberately a boundary value (see .cc).
  int64_t Stamp(int64_t natural);
  // Writes `{"resourceType":"T","id":"...","meta":{...}` (object left open).
  void Header(std::string& o, ResourceType t, int64_t natural, const char* profile);
  void AppendId(std::string& o, ResourceType t, uint64_t n) const;
  // Writes `{"reference":"T/id"}` or with display.
  void AppendRef(std::string& o, ResourceType t, uint64_t n) const;
  void AppendRef(std::string& o, ResourceType t, uint64_t n, std::string_view display) const;
  void AppendPractitionerRef(std::string& o, uint64_t prac) const;
  void AppendOrganizationRef(std::string& o, uint64_t org) const;
  void AppendPatientRef(std::string& o) const;
  PersonName PractitionerName(uint64_t prac) const;
  const Locale& OrganizationLocale(uint64_t org) const;
  void AppendOrganizationName(std::string& o, uint64_t org) const;  // raw, unquoted
  int64_t UniformTime() { return from_ + static_cast<int64_t>(rng_.Below(span_)); }
  void StartPatient();
  void StartEncounter();

  // --- gen_admin.cc ---
  void EmitOrganization(std::string& o);
  void EmitPractitioner(std::string& o);
  void EmitPatient(std::string& o);
  void AppendAddress(std::string& o, const Locale& loc, const char* use);
  void AppendPhone(std::string& o, const Locale& loc);

  // --- gen_clinical.cc ---
  void EmitEncounter(std::string& o);
  void EmitObservation(std::string& o);
  void EmitCondition(std::string& o);
  void EmitMedicationRequest(std::string& o);
  // Appends "valueQuantity", "interpretation" and "referenceRange" members
  // (for an Observation or a component; compact drops optional texts/type).
  void AppendMeasurement(std::string& o, const ObsDef& def, bool compact);

  GenOptions opt_;
  Rng rng_;
  std::string seed_str_;
  int64_t from_, till_;
  uint64_t span_;
  uint64_t total_;
  uint64_t n_org_, n_prac_;
  uint64_t emitted_ = 0;
  uint64_t count_[kResourceTypeCount] = {};  // next ordinal per type
  ResourceType last_type_ = ResourceType::kOrganization;
  int64_t prev_stamp_ = 0;
  bool have_prev_ = false;
  PatientState p_;
  EncounterState e_;
  std::string patient_display_;
  mutable std::string scratch_;  // temp for display strings (never nested)
};

}  // namespace fhirgen::detail
