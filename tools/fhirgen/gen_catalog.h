// Internal: static code tables (LOINC, SNOMED CT, RxNorm, names, places).
#pragma once

#include <cstdint>
#include <span>

namespace fhirgen::detail {

struct Locale {
  const char* city;
  const char* state;
  const char* postal_prefix;  // 3 digits; 2 random digits are appended
  const char* country;        // ISO 3166 alpha-2
  const char* phone_prefix;   // e.g. "+1 617-"
  int tz_minutes;             // fixed UTC offset used for local dateTimes
};

// Quantitative observation. All numbers are scaled by 10^decimals.
struct ObsDef {
  const char* loinc;
  const char* display;  // LOINC long name
  const char* text;     // short human text
  const char* unit;     // human unit
  const char* ucum;     // UCUM code
  int decimals;
  int32_t low, high;    // normal range
  int32_t min, max;     // plausible generated range (outside normal -> L/H)
  bool lab;             // laboratory (else vital-signs)
};

struct CondDef {
  const char* snomed;
  const char* display;
  bool chronic;  // chronic -> usually active; acute -> usually resolved
};

struct MedDef {
  const char* rxnorm;
  const char* display;
  const char* dose_unit;      // "tablet", "capsule", "puff"
  const char* dose_form;      // v3-orderableDrugForm code: TAB, CAP, INHL
  const char* instructions;   // patient instruction text
  int frequency;              // times per period
  const char* period_unit;    // "d" / "wk"
  int dispense_qty;
  const char* route_code;     // SNOMED route
  const char* route_display;
};

struct EncTypeDef {
  const char* snomed;
  const char* display;
  int cls;  // index into EncClasses()
};

struct EncClassDef {
  const char* code;     // v3-ActCode
  const char* display;
  int64_t min_minutes, max_minutes;  // duration range
};

std::span<const char* const> FemaleGiven();
std::span<const char* const> MaleGiven();
std::span<const char* const> FamilyNames();
std::span<const char* const> Streets();        // English-style
std::span<const char* const> GermanStreets();
std::span<const Locale> Locales();
std::span<const char* const> OrgNamePatterns();  // "{}" is replaced by city
std::span<const ObsDef> VitalSigns();             // excluding blood pressure
std::span<const ObsDef> LabTests();
const ObsDef& Systolic();
const ObsDef& Diastolic();
std::span<const CondDef> Conditions();
std::span<const MedDef> Medications();
std::span<const EncTypeDef> EncounterTypes();
std::span<const EncClassDef> EncClasses();
std::span<const char* const> ObservationNotes();  // contain quotes/newlines

}  // namespace fhirgen::detail
