// Encounter, Observation, Condition and MedicationRequest resources.
#include <algorithm>
#include <string>

#include "gen_impl.h"
#include "gen_json.h"
#include "gen_time.h"

namespace fhirgen::detail {
namespace {

constexpr const char* kVitalProfile = "http://hl7.org/fhir/StructureDefinition/vitalsigns";
constexpr const char* kBpProfile = "http://hl7.org/fhir/StructureDefinition/bp";

void AppendQuantity(std::string& o, int64_t scaled, const ObsDef& d) {
  o += "{\"value\":";
  AppendDecimal(o, scaled, d.decimals);
  o += ",\"unit\":";
  AppendStr(o, d.unit);
  o += ",\"system\":\"http://unitsofmeasure.org\",\"code\":";
  AppendStr(o, d.ucum);
  o += '}';
}

// {"coding":[{"system":S,"code":C,"display":D}],"text":T} (text omitted if null)
void AppendConcept(std::string& o, const char* system, const char* code, const char* display,
                   const char* text) {
  o += "{\"coding\":[{\"system\":\"";
  o += system;
  o += "\",\"code\":";
  AppendStr(o, code);
  o += ",\"display\":";
  AppendStr(o, display);
  o += "}]";
  if (text != nullptr) {
    o += ",\"text\":";
    AppendStr(o, text);
  }
  o += '}';
}

void AppendUuid(std::string& o, uint64_t a, uint64_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  a = (a & ~0xF000ull) | 0x4000ull;              // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | (1ull << 63);  // RFC 4122 variant
  char buf[36];
  int p = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[p++] = '-';
    const uint64_t w = i < 16 ? a : b;
    buf[p++] = kHex[(w >> (60 - 4 * (i % 16))) & 15];
  }
  o.append(buf, sizeof buf);
}

}  // namespace

void GeneratorImpl::EmitEncounter(std::string& o) {
  const EncClassDef& cls = EncClasses()[e_.type->cls];
  const bool in_progress = rng_.Chance(300);
  Header(o, ResourceType::kEncounter,
         (in_progress ? e_.start_ms : e_.end_ms) + static_cast<int64_t>(rng_.Below(4 * kMsPerHour)),
         nullptr);
  o += ",\"identifier\":[{\"use\":\"official\",\"system\":"
       "\"urn:oid:2.16.840.1.113883.19.5.99999.2\",\"value\":\"VN-";
  o += seed_str_;
  o += '-';
  AppendPadded(o, e_.n, 8);
  o += in_progress ? "\"}],\"status\":\"in-progress\"" : "\"}],\"status\":\"finished\"";
  o += ",\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"";
  o += cls.code;
  o += "\",\"display\":\"";
  o += cls.display;
  o += "\"},\"type\":[";
  AppendConcept(o, "http://snomed.info/sct", e_.type->snomed, e_.type->display, e_.type->display);
  o += "],\"subject\":";
  AppendPatientRef(o);
  o += ",\"participant\":[{\"type\":[{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/v3-ParticipationType\",\"code\":\"PPRF\","
       "\"display\":\"primary performer\"}],\"text\":\"primary performer\"}],\"individual\":";
  AppendPractitionerRef(o, e_.prac);
  o += "}],\"period\":{\"start\":\"";
  AppendDateTimeTz(o, e_.start_ms, p_.locale->tz_minutes);
  if (!in_progress) {
    o += "\",\"end\":\"";
    AppendDateTimeTz(o, e_.end_ms, p_.locale->tz_minutes);
  }
  o += "\"}";
  if (p_.last_condition >= 0 && rng_.Chance(3000)) {
    o += ",\"reasonReference\":[";
    AppendRef(o, ResourceType::kCondition, static_cast<uint64_t>(p_.last_condition));
    o += ']';
  }
  if (e_.type->cls == 1 || e_.type->cls == 2) {
    o += ",\"hospitalization\":{\"admitSource\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/admit-source\",\"code\":\"";
    o += e_.type->cls == 1 ? "emd\",\"display\":\"From accident/emergency department\"}]}"
                           : "gp\",\"display\":\"General Practitioner referral\"}]}";
    o += ",\"dischargeDisposition\":{\"coding\":[{\"system\":"
         "\"http://terminology.hl7.org/CodeSystem/discharge-disposition\",\"code\":\"home\","
         "\"display\":\"Home\"}]}}";
  }
  o += ",\"serviceProvider\":";
  AppendOrganizationRef(o, e_.org);
  o += '}';
}

void GeneratorImpl::AppendMeasurement(std::string& o, const ObsDef& d, bool compact) {
  const bool has_range = d.low < d.high;
  const int64_t v = (has_range && rng_.Chance(8000)) ? rng_.Range(d.low, d.high)
                                                     : rng_.Range(d.min, d.max);
  o += "\"valueQuantity\":";
  AppendQuantity(o, v, d);
  if (!has_range) return;
  const int64_t width = d.high - d.low;
  const char* code = "N";
  const char* display = "Normal";
  if (v < d.low) {
    code = v < d.low - width / 2 ? "LL" : "L";
    display = v < d.low - width / 2 ? "Critical low" : "Low";
  } else if (v > d.high) {
    code = v > d.high + width ? "HH" : "H";
    display = v > d.high + width ? "Critical high" : "High";
  }
  o += ",\"interpretation\":[";
  AppendConcept(o, "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", code,
                display, compact ? nullptr : display);
  o += "],\"referenceRange\":[{";
  if (d.low > 0) {
    o += "\"low\":";
    AppendQuantity(o, d.low, d);
    o += ',';
  }
  o += "\"high\":";
  AppendQuantity(o, d.high, d);
  if (!compact) {
    o += ",\"type\":";
    AppendConcept(o, "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "normal",
                  "Normal Range", "Normal Range");
  }
  o += ",\"text\":\"";
  if (d.low > 0) {
    AppendDecimal(o, d.low, d.decimals);
    o += '-';
  } else {
    o += "<=";
  }
  AppendDecimal(o, d.high, d.decimals);
  o += ' ';
  o += d.unit;
  o += "\"}]";
}

void GeneratorImpl::EmitObservation(std::string& o) {
  const uint64_t n = count_[static_cast<int>(ResourceType::kObservation)];
  const uint64_t kind = rng_.Below(100);
  const bool bp = kind < 12;
  const ObsDef* def = nullptr;
  if (!bp) def = kind < 55 ? &rng_.Pick(VitalSigns()) : &rng_.Pick(LabTests());
  const bool lab = def != nullptr && def->lab;

  const int64_t dur = std::max<int64_t>(e_.end_ms - e_.start_ms, kMsPerMinute);
  const int64_t effective = e_.start_ms + static_cast<int64_t>(rng_.Below(dur)) / 1000 * 1000;
  const int64_t issued = effective + (lab ? rng_.Range(20 * kMsPerMinute, 6 * kMsPerHour)
                                          : rng_.Range(0, 5 * kMsPerMinute));
  Header(o, ResourceType::kObservation, issued + static_cast<int64_t>(rng_.Below(10 * kMsPerMinute)),
         bp ? kBpProfile : (lab ? nullptr : kVitalProfile));
  if (lab) {
    o += ",\"identifier\":[{\"use\":\"official\",\"system\":"
         "\"http://lab.example.org/fhir/sid/accession\",\"value\":\"ACC-";
    o += seed_str_;
    o += '-';
    AppendPadded(o, n, 9);
  } else {
    o += ",\"identifier\":[{\"system\":\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:";
    AppendUuid(o, rng_.Next(), rng_.Next());
  }
  const uint64_t st = rng_.Below(100);
  o += st < 97 ? "\"}],\"status\":\"final\"" : st < 99 ? "\"}],\"status\":\"amended\""
                                                     : "\"}],\"status\":\"preliminary\"";
  o += ",\"category\":[";
  if (lab) {
    AppendConcept(o, "http://terminology.hl7.org/CodeSystem/observation-category", "laboratory",
                  "Laboratory", "Laboratory");
  } else {
    AppendConcept(o, "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs",
                  "Vital Signs", "Vital Signs");
  }
  o += "],\"code\":";
  if (bp) {
    AppendConcept(o, "http://loinc.org", "85354-9",
                  "Blood pressure panel with all children optional", "Blood pressure");
  } else {
    AppendConcept(o, "http://loinc.org", def->loinc, def->display, def->text);
  }
  o += ",\"subject\":";
  AppendPatientRef(o);
  o += ",\"encounter\":";
  AppendRef(o, ResourceType::kEncounter, e_.n);
  o += ",\"effectiveDateTime\":\"";
  AppendDateTimeTz(o, effective, p_.locale->tz_minutes);
  o += "\",\"issued\":\"";
  AppendInstant(o, issued);
  o += "\",\"performer\":[";
  AppendPractitionerRef(o, e_.prac);
  if (lab) {
    o += ',';
    AppendOrganizationRef(o, e_.org);
  }
  o += ']';
  if (bp) {
    o += ",\"component\":[{\"code\":";
    AppendConcept(o, "http://loinc.org", Systolic().loinc, Systolic().display, nullptr);
    o += ',';
    AppendMeasurement(o, Systolic(), true);
    o += "},{\"code\":";
    AppendConcept(o, "http://loinc.org", Diastolic().loinc, Diastolic().display, nullptr);
    o += ',';
    AppendMeasurement(o, Diastolic(), true);
    o += "}]";
  } else {
    o += ',';
    AppendMeasurement(o, *def, false);
  }
  if (rng_.Chance(300)) {
    o += ",\"note\":[{\"text\":";
    AppendStr(o, rng_.Pick(ObservationNotes()));
    o += "}]";
  }
  o += '}';
}

void GeneratorImpl::EmitCondition(std::string& o) {
  const CondDef& c = rng_.Pick(Conditions());
  p_.last_condition = static_cast<int64_t>(count_[static_cast<int>(ResourceType::kCondition)]);
  const int64_t dur = std::max<int64_t>(e_.end_ms - e_.start_ms, kMsPerMinute);
  const int64_t recorded = e_.start_ms + static_cast<int64_t>(rng_.Below(dur)) / 1000 * 1000;
  int64_t onset = e_.start_ms - static_cast<int64_t>(
                                    rng_.Below(c.chronic ? 5 * kMsPerYear : 7 * kMsPerDay));
  onset = std::max(onset, p_.birth_ms + kMsPerDay) / 1000 * 1000;
  const bool resolved = !c.chronic && rng_.Chance(7000);
  Header(o, ResourceType::kCondition, recorded + static_cast<int64_t>(rng_.Below(kMsPerHour)),
         nullptr);
  o += ",\"clinicalStatus\":{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":";
  o += resolved ? "\"resolved\",\"display\":\"Resolved\"}]}" : "\"active\",\"display\":\"Active\"}]}";
  o += ",\"verificationStatus\":{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/condition-ver-status\",\"code\":\"confirmed\","
       "\"display\":\"Confirmed\"}]},\"category\":[{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/condition-category\",\"code\":";
  o += c.chronic ? "\"problem-list-item\",\"display\":\"Problem List Item\"}]}]"
                 : "\"encounter-diagnosis\",\"display\":\"Encounter Diagnosis\"}]}]";
  o += ",\"code\":";
  AppendConcept(o, "http://snomed.info/sct", c.snomed, c.display, c.display);
  o += ",\"subject\":";
  AppendPatientRef(o);
  o += ",\"encounter\":";
  AppendRef(o, ResourceType::kEncounter, e_.n);
  o += ",\"onsetDateTime\":\"";
  AppendDateTimeTz(o, onset, p_.locale->tz_minutes);
  if (resolved) {
    o += "\",\"abatementDateTime\":\"";
    AppendDateTimeTz(o, onset + rng_.Range(7, 30) * kMsPerDay, p_.locale->tz_minutes);
  }
  o += "\",\"recordedDate\":\"";
  AppendDateTimeTz(o, recorded, p_.locale->tz_minutes);
  o += "\",\"recorder\":";
  AppendPractitionerRef(o, e_.prac);
  o += '}';
}

void GeneratorImpl::EmitMedicationRequest(std::string& o) {
  const uint64_t n = count_[static_cast<int>(ResourceType::kMedicationRequest)];
  const MedDef& m = rng_.Pick(Medications());
  const int64_t dur = std::max<int64_t>(e_.end_ms - e_.start_ms, kMsPerMinute);
  const int64_t authored = e_.start_ms + static_cast<int64_t>(rng_.Below(dur)) / 1000 * 1000;
  Header(o, ResourceType::kMedicationRequest,
         authored + static_cast<int64_t>(rng_.Below(30 * kMsPerMinute)), nullptr);
  o += ",\"identifier\":[{\"use\":\"official\",\"system\":"
       "\"urn:oid:2.16.840.1.113883.19.5.99999.3\",\"value\":\"RX-";
  o += seed_str_;
  o += '-';
  AppendPadded(o, n, 8);
  const uint64_t st = rng_.Below(10);
  o += st < 6 ? "\"}],\"status\":\"active\"" : st < 9 ? "\"}],\"status\":\"completed\""
                                                  : "\"}],\"status\":\"stopped\"";
  o += ",\"intent\":\"order\",\"category\":[{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/medicationrequest-category\",\"code\":"
       "\"community\",\"display\":\"Community\"}]}],\"medicationCodeableConcept\":";
  AppendConcept(o, "http://www.nlm.nih.gov/research/umls/rxnorm", m.rxnorm, m.display, m.display);
  o += ",\"subject\":";
  AppendPatientRef(o);
  o += ",\"encounter\":";
  AppendRef(o, ResourceType::kEncounter, e_.n);
  o += ",\"authoredOn\":\"";
  AppendDateTimeTz(o, authored, p_.locale->tz_minutes);
  o += "\",\"requester\":";
  AppendPractitionerRef(o, e_.prac);
  if (p_.last_condition >= 0 && rng_.Chance(7000)) {
    o += ",\"reasonReference\":[";
    AppendRef(o, ResourceType::kCondition, static_cast<uint64_t>(p_.last_condition));
    o += ']';
  }
  o += ",\"dosageInstruction\":[{\"sequence\":1,\"text\":";
  AppendStr(o, m.instructions);
  o += ",\"timing\":{\"repeat\":{\"frequency\":";
  AppendInt(o, m.frequency);
  o += ",\"period\":1,\"periodUnit\":\"";
  o += m.period_unit;
  o += "\"}},\"route\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"";
  o += m.route_code;
  o += "\",\"display\":\"";
  o += m.route_display;
  o += "\"}]},\"doseAndRate\":[{\"doseQuantity\":{\"value\":1,\"unit\":\"";
  o += m.dose_unit;
  o += "\",\"system\":\"http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm\",\"code\":\"";
  o += m.dose_form;
  o += "\"}}]}],\"dispenseRequest\":{\"validityPeriod\":{\"start\":\"";
  AppendDate(o, authored + p_.locale->tz_minutes * kMsPerMinute);
  o += "\",\"end\":\"";
  AppendDate(o, authored + p_.locale->tz_minutes * kMsPerMinute + 365 * kMsPerDay);
  o += "\"},\"numberOfRepeatsAllowed\":";
  AppendUint(o, rng_.Below(6));
  o += ",\"quantity\":{\"value\":";
  AppendInt(o, m.dispense_qty);
  o += ",\"unit\":\"";
  o += m.dose_unit;
  o += "\",\"system\":\"http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm\",\"code\":\"";
  o += m.dose_form;
  o += "\"},\"expectedSupplyDuration\":{\"value\":";
  AppendInt(o, std::max(1, m.dispense_qty / m.frequency));
  o += ",\"unit\":\"days\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"d\"}}}";
}

}  // namespace fhirgen::detail
