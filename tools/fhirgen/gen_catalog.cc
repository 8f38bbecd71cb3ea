#include "gen_catalog.h"

namespace fhirgen::detail {
namespace {

constexpr const char* kFemale[] = {
    "Anna", "Maria", "Emily", "Sophia", "Olivia", "Zoë", "Chloé", "Ingrid",
    "Mei", "Aisha", "Lucía", "Hannah", "Sarah", "Grace", "Fatima", "Priya",
    "Yuki", "Ewa", "Amélie", "Jessica", "Laura", "Margaret", "Sofía", "Leonie"};

constexpr const char* kMale[] = {
    "James", "John", "Robert", "Michael", "David", "Jürgen", "José", "Luca",
    "Ahmed", "Wei", "Hiroshi", "Noah", "Liam", "Ethan", "Omar", "Raj",
    "Søren", "François", "Daniel", "Thomas", "Lukas", "William", "Mateo", "Kwame"};

constexpr const char* kFamily[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Martínez",
    "Müller", "Schmidt", "Schneider", "O'Brien", "Nguyen", "Kim", "Patel",
    "Kowalski", "Rossi", "Dubois", "Andersson", "Tanaka", "Okafor", "Haddad",
    "Cohen", "Murphy", "Walker", "Lee", "Wagner", "Becker", "Hoffmann",
    "Fischer", "López", "van der Berg", "Łukasiewicz"};

constexpr const char* kStreets[] = {
    "Main Street", "Oak Avenue", "Maple Drive", "Elm Street", "Washington Blvd",
    "Lake Shore Drive", "Park Lane", "Cedar Court", "Sunset Boulevard", "Pine Road",
    "Birch Way", "Chestnut Street", "Church Road", "Station Road", "Mill Lane"};

constexpr const char* kGermanStreets[] = {
    "Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Lindenweg", "Goethestraße",
    "Gartenstraße", "Kirchweg", "Am Mühlbach", "Friedrich-Ebert-Straße", "Schulstraße"};

constexpr Locale kLocales[] = {
    {"Boston", "MA", "021", "US", "+1 617-", -300},
    {"Worcester", "MA", "016", "US", "+1 508-", -300},
    {"Springfield", "MA", "011", "US", "+1 413-", -300},
    {"Chicago", "IL", "606", "US", "+1 312-", -360},
    {"Denver", "CO", "802", "US", "+1 303-", -420},
    {"Seattle", "WA", "981", "US", "+1 206-", -480},
    {"Austin", "TX", "787", "US", "+1 512-", -360},
    {"Honolulu", "HI", "968", "US", "+1 808-", -600},
    {"Berlin", "BE", "101", "DE", "+49 30 ", 60},
    {"München", "BY", "803", "DE", "+49 89 ", 60},
    {"Hamburg", "HH", "204", "DE", "+49 40 ", 60},
    {"Köln", "NW", "506", "DE", "+49 221 ", 60},
    {"Mumbai", "MH", "4000", "IN", "+91 22 ", 330},
};

constexpr const char* kOrgPatterns[] = {
    "{} General Hospital", "{} Community Health Center",
    "St. Mary's Medical Center {}", "{} Family Practice", "Klinikum {}",
    "Labor \"Am Markt\" {}", "{} Pediatrics & Family Care", "Praxis Dr. Weiß {}"};

//  loinc, display, text, unit, ucum, decimals, low, high, min, max, lab
constexpr ObsDef kVitals[] = {
    {"8867-4", "Heart rate", "Heart rate", "beats/minute", "/min", 0, 60, 100, 45, 140, false},
    {"9279-1", "Respiratory rate", "Respiratory rate", "breaths/minute", "/min", 0, 12, 20, 8, 32, false},
    {"8310-5", "Body temperature", "Body temperature", "C", "Cel", 1, 361, 372, 350, 401, false},
    {"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2", "%", "%", 0, 95, 100, 84, 100, false},
    {"29463-7", "Body weight", "Body weight", "kg", "kg", 1, 0, 0, 350, 1500, false},
    {"8302-2", "Body height", "Body height", "cm", "cm", 1, 0, 0, 1450, 2010, false},
    {"39156-5", "Body mass index (BMI) [Ratio]", "BMI", "kg/m2", "kg/m2", 1, 185, 249, 160, 420, false},
};

constexpr ObsDef kSystolic = {"8480-6", "Systolic blood pressure", "Systolic blood pressure",
                              "mm[Hg]", "mm[Hg]", 0, 90, 120, 80, 190, false};
constexpr ObsDef kDiastolic = {"8462-4", "Diastolic blood pressure", "Diastolic blood pressure",
                               "mm[Hg]", "mm[Hg]", 0, 60, 80, 50, 120, false};

constexpr ObsDef kLabs[] = {
    {"2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glucose", "mg/dL", "mg/dL", 0, 70, 99, 55, 300, true},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%", "%", 1, 40, 56, 40, 120, true},
    {"718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin", "g/dL", "g/dL", 1, 120, 175, 80, 200, true},
    {"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "WBC", "10*3/uL", "10*3/uL", 1, 45, 110, 20, 250, true},
    {"777-3", "Platelets [#/volume] in Blood by Automated count", "Platelets", "10*3/uL", "10*3/uL", 0, 150, 400, 50, 700, true},
    {"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine", "mg/dL", "mg/dL", 2, 60, 130, 40, 400, true},
    {"3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "BUN", "mg/dL", "mg/dL", 0, 7, 20, 4, 60, true},
    {"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Sodium", "mmol/L", "mmol/L", 0, 135, 145, 125, 155, true},
    {"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium", "mmol/L", "mmol/L", 1, 35, 51, 28, 65, true},
    {"2075-0", "Chloride [Moles/volume] in Serum or Plasma", "Chloride", "mmol/L", "mmol/L", 0, 98, 107, 90, 115, true},
    {"17861-6", "Calcium [Mass/volume] in Serum or Plasma", "Calcium", "mg/dL", "mg/dL", 1, 86, 103, 75, 120, true},
    {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "Total cholesterol", "mg/dL", "mg/dL", 0, 100, 199, 120, 320, true},
    {"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "Triglycerides", "mg/dL", "mg/dL", 0, 0, 149, 40, 500, true},
    {"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "HDL cholesterol", "mg/dL", "mg/dL", 0, 40, 90, 20, 100, true},
    {"18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "LDL cholesterol", "mg/dL", "mg/dL", 0, 0, 99, 40, 220, true},
    {"1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ALT", "U/L", "U/L", 0, 7, 56, 3, 200, true},
};

constexpr CondDef kConditions[] = {
    {"44054006", "Diabetes mellitus type 2 (disorder)", true},
    {"38341003", "Hypertensive disorder, systemic arterial (disorder)", true},
    {"195967001", "Asthma (disorder)", true},
    {"13645005", "Chronic obstructive lung disease (disorder)", true},
    {"55822004", "Hyperlipidemia (disorder)", true},
    {"35489007", "Depressive disorder (disorder)", true},
    {"197480006", "Anxiety disorder (disorder)", true},
    {"49436004", "Atrial fibrillation (disorder)", true},
    {"239873007", "Osteoarthritis of knee (disorder)", true},
    {"162864005", "Body mass index 30+ - obesity (finding)", true},
    {"230690007", "Cerebrovascular accident (disorder)", true},
    {"271737000", "Anemia (disorder)", false},
    {"444814009", "Viral sinusitis (disorder)", false},
    {"10509002", "Acute bronchitis (disorder)", false},
    {"43878008", "Streptococcal sore throat (disorder)", false},
    {"65363002", "Otitis media (disorder)", false},
    {"233604007", "Pneumonia (disorder)", false},
    {"68566005", "Urinary tract infectious disease (disorder)", false},
    {"840539006", "COVID-19 (disorder)", false},
    {"36971009", "Sinusitis (disorder)", false},
};

#define ORAL "26643006", "Oral route (qualifier value)"
#define INHALED "447694001", "Respiratory tract route (qualifier value)"
constexpr MedDef kMeds[] = {
    {"314076", "lisinopril 10 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth once daily", 1, "d", 30, ORAL},
    {"860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth once daily with the evening meal", 1, "d", 30, ORAL},
    {"197361", "amLODIPine 5 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth once daily", 1, "d", 30, ORAL},
    {"259255", "atorvastatin 80 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth at bedtime", 1, "d", 30, ORAL},
    {"312961", "simvastatin 20 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth in the evening", 1, "d", 30, ORAL},
    {"310798", "Hydrochlorothiazide 25 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth every morning", 1, "d", 30, ORAL},
    {"308182", "Amoxicillin 250 MG Oral Capsule", "capsule", "CAP", "Take 1 capsule by mouth three times daily for 10 days", 3, "d", 30, ORAL},
    {"834060", "Penicillin V Potassium 250 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth four times daily for 10 days", 4, "d", 40, ORAL},
    {"313782", "Acetaminophen 325 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet every 6 hours as needed for pain", 4, "d", 60, ORAL},
    {"310965", "Ibuprofen 200 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth 3 times daily with food", 3, "d", 30, ORAL},
    {"849574", "Naproxen sodium 220 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth twice daily", 2, "d", 20, ORAL},
    {"310325", "ferrous sulfate 325 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet by mouth daily", 1, "d", 30, ORAL},
    {"1049221", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", "tablet", "TAB", "Take 1 tablet every 6 hours as needed; do not exceed 4 per day", 4, "d", 20, ORAL},
    {"895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "puff", "MDINHL", "Inhale 1 puff twice daily; rinse mouth after use", 2, "d", 120, INHALED},
    {"745679", "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "puff", "MDINHL", "Inhale 1 puff every 4-6 hours as needed for wheezing", 4, "d", 200, INHALED},
};
#undef ORAL
#undef INHALED

constexpr EncClassDef kClasses[] = {
    {"AMB", "ambulatory", 15, 60},
    {"EMER", "emergency", 60, 480},
    {"IMP", "inpatient encounter", 1440, 10080},
    {"VR", "virtual", 10, 30},
};

// Repeated entries act as weights (about 75% AMB, 8% EMER, 8% IMP, 8% VR).
constexpr EncTypeDef kEncTypes[] = {
    {"185349003", "Encounter for check up (procedure)", 0},
    {"185349003", "Encounter for check up (procedure)", 0},
    {"162673000", "General examination of patient (procedure)", 0},
    {"185345009", "Encounter for symptom (procedure)", 0},
    {"185345009", "Encounter for symptom (procedure)", 0},
    {"390906007", "Follow-up encounter (procedure)", 0},
    {"390906007", "Follow-up encounter (procedure)", 0},
    {"185347001", "Encounter for problem (procedure)", 0},
    {"50849002", "Emergency room admission (procedure)", 1},
    {"32485007", "Hospital admission (procedure)", 2},
    {"448337001", "Telemedicine consultation with patient (procedure)", 3},
    {"185349003", "Encounter for check up (procedure)", 0},
};

constexpr const char* kNotes[] = {
    "Patient states: \"felt dizzy this morning\".\nRecheck in 2 weeks.",
    "Repeat measurement after 5 min rest.\tValue confirmed.",
    "Specimen slightly hemolyzed; result may be affected.",
    "Imported from C:\\LAB\\export\\batch-17 (legacy system)",
    "Messung nach Belastung – Wert grenzwertig, Kontrolle in 3 Monaten.",
    "Value transcribed from paper chart\x1f by night shift.",
};

}  // namespace

std::span<const char* const> FemaleGiven() { return kFemale; }
std::span<const char* const> MaleGiven() { return kMale; }
std::span<const char* const> FamilyNames() { return kFamily; }
std::span<const char* const> Streets() { return kStreets; }
std::span<const char* const> GermanStreets() { return kGermanStreets; }
std::span<const Locale> Locales() { return kLocales; }
std::span<const char* const> OrgNamePatterns() { return kOrgPatterns; }
std::span<const ObsDef> VitalSigns() { return kVitals; }
std::span<const ObsDef> LabTests() { return kLabs; }
const ObsDef& Systolic() { return kSystolic; }
const ObsDef& Diastolic() { return kDiastolic; }
std::span<const CondDef> Conditions() { return kConditions; }
std::span<const MedDef> Medications() { return kMeds; }
std::span<const EncTypeDef> EncounterTypes() { return kEncTypes; }
std::span<const EncClassDef> EncClasses() { return kClasses; }
std::span<const char* const> ObservationNotes() { return kNotes; }

}  // namespace fhirgen::detail
