// Organization, Practitioner and Patient resources.
#include <cstring>
#include <iterator>
#include <string>

#include "gen_impl.h"
#include "gen_json.h"
#include "gen_time.h"

namespace fhirgen::detail {
namespace {

struct Marital {
  const char* code;
  const char* display;
};
constexpr Marital kMarital[] = {
    {"M", "Married"}, {"S", "Never Married"}, {"D", "Divorced"}, {"W", "Widowed"}, {"M", "Married"}};

struct Language {
  const char* country;
  const char* code;
  const char* display;
};
constexpr Language kLanguages[] = {
    {"US", "en-US", "English (United States)"},
    {"DE", "de-DE", "German (Germany)"},
    {"IN", "en-IN", "English (India)"},
};

const Language& LanguageFor(const Locale& loc) {
  for (const Language& l : kLanguages) {
    if (std::strcmp(l.country, loc.country) == 0) return l;
  }
  return kLanguages[0];
}

}  // namespace

void GeneratorImpl::AppendPhone(std::string& o, const Locale& loc) {
  o += '"';
  o += loc.phone_prefix;
  AppendUint(o, static_cast<uint64_t>(rng_.Range(200, 999)));
  o += '-';
  AppendPadded(o, rng_.Below(10000), 4);
  o += '"';
}

void GeneratorImpl::AppendAddress(std::string& o, const Locale& loc, const char* use) {
  const bool german = std::strcmp(loc.country, "DE") == 0;
  const uint64_t number = 1 + rng_.Below(german ? 120 : 9999);
  const char* street = rng_.Pick(german ? GermanStreets() : Streets());
  scratch_.clear();
  if (german) {
    scratch_ += street;
    scratch_ += ' ';
    AppendUint(scratch_, number);
  } else {
    AppendUint(scratch_, number);
    scratch_ += ' ';
    scratch_ += street;
  }
  o += "{\"use\":\"";
  o += use;
  o += "\",\"type\":\"both\",\"line\":[";
  AppendStr(o, scratch_);
  if (rng_.Chance(2000)) {
    o += german ? ",\"Hinterhaus, 3. OG\"" : ",\"Apt ";
    if (!german) {
      AppendUint(o, 1 + rng_.Below(40));
      o += static_cast<char>('A' + rng_.Below(6));
      o += '"';
    }
  }
  o += "],\"city\":";
  AppendStr(o, loc.city);
  o += ",\"state\":\"";
  o += loc.state;
  o += "\",\"postalCode\":\"";
  o += loc.postal_prefix;
  AppendPadded(o, rng_.Below(100), 2);
  o += "\",\"country\":\"";
  o += loc.country;
  o += "\"}";
}

void GeneratorImpl::EmitOrganization(std::string& o) {
  const uint64_t n = count_[static_cast<int>(ResourceType::kOrganization)];
  Header(o, ResourceType::kOrganization, UniformTime(), nullptr);
  o += ",\"identifier\":[{\"use\":\"official\",\"system\":\"http://hl7.org/fhir/sid/us-npi\","
       "\"value\":\"1";
  AppendPadded(o, n, 9);
  o += "\"}],\"active\":true,\"type\":[{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/organization-type\",\"code\":\"prov\","
       "\"display\":\"Healthcare Provider\"}],\"text\":\"Healthcare Provider\"}],\"name\":";
  scratch_.clear();
  AppendOrganizationName(scratch_, n);
  AppendStr(o, scratch_);
  const Locale& loc = OrganizationLocale(n);
  o += ",\"telecom\":[{\"system\":\"phone\",\"value\":";
  AppendPhone(o, loc);
  o += ",\"use\":\"work\"}],\"address\":[";
  AppendAddress(o, loc, "work");
  o += ']';
  if (n % 4 != 0) {  // small hierarchy: every 4th organization is a root
    o += ",\"partOf\":";
    AppendOrganizationRef(o, n / 4 * 4);
  }
  o += '}';
}

void GeneratorImpl::EmitPractitioner(std::string& o) {
  const uint64_t n = count_[static_cast<int>(ResourceType::kPractitioner)];
  const PersonName nm = PractitionerName(n);
  const Locale& loc = rng_.Pick(Locales());
  Header(o, ResourceType::kPractitioner, UniformTime(), nullptr);
  o += ",\"identifier\":[{\"use\":\"official\",\"system\":\"http://hl7.org/fhir/sid/us-npi\","
       "\"value\":\"9";
  AppendPadded(o, n, 9);
  o += "\"}],\"active\":true,\"name\":[{\"use\":\"official\",\"family\":";
  AppendStr(o, nm.family);
  o += ",\"given\":[";
  AppendStr(o, nm.given);
  o += "],\"prefix\":[\"Dr.\"]}],\"telecom\":[{\"system\":\"phone\",\"value\":";
  AppendPhone(o, loc);
  o += ",\"use\":\"work\"},{\"system\":\"email\",\"value\":\"";
  AppendAsciiSlug(o, nm.given);
  o += '.';
  AppendAsciiSlug(o, nm.family);
  AppendUint(o, n);
  o += "@example.org\",\"use\":\"work\"}],\"address\":[";
  AppendAddress(o, loc, "work");
  o += nm.female ? "],\"gender\":\"female\"" : "],\"gender\":\"male\"";
  o += ",\"qualification\":[{\"identifier\":[{\"system\":\"http://example.org/medical-license\","
       "\"value\":\"ML-";
  AppendUint(o, 100000 + n);
  o += "\"}],\"code\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0360\","
       "\"code\":\"MD\",\"display\":\"Doctor of Medicine\"}],\"text\":\"MD\"}}]}";
}

void GeneratorImpl::EmitPatient(std::string& o) {
  const Locale& loc = *p_.locale;
  Header(o, ResourceType::kPatient, UniformTime(), nullptr);
  o += ",\"identifier\":[{\"use\":\"usual\",\"type\":{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\","
       "\"display\":\"Medical record number\"}],\"text\":\"Medical record number\"},"
       "\"system\":\"urn:oid:2.16.840.1.113883.19.5.99999.1\",\"value\":\"MRN-";
  o += seed_str_;
  o += '-';
  AppendPadded(o, p_.n, 7);
  o += "\"}";
  if (std::strcmp(loc.country, "US") == 0) {
    o += ",{\"use\":\"official\",\"system\":\"http://hl7.org/fhir/sid/us-ssn\",\"value\":\"999-";
    AppendPadded(o, rng_.Below(100), 2);
    o += '-';
    AppendPadded(o, rng_.Below(10000), 4);
    o += "\"}";
  } else if (std::strcmp(loc.country, "DE") == 0) {
    o += ",{\"use\":\"official\",\"system\":\"http://fhir.de/sid/gkv/kvid-10\",\"value\":\"";
    o += static_cast<char>('A' + rng_.Below(26));
    AppendPadded(o, rng_.Below(1000000000), 9);
    o += "\"}";
  }
  o += "],\"active\":true,\"name\":[{\"use\":\"official\",\"family\":";
  AppendStr(o, p_.name.family);
  o += ",\"given\":[";
  AppendStr(o, p_.name.given);
  if (rng_.Chance(4000)) {
    o += ',';
    AppendStr(o, rng_.Pick(p_.name.female ? FemaleGiven() : MaleGiven()));
  }
  o += p_.name.female ? (rng_.Chance(5000) ? "],\"prefix\":[\"Mrs.\"]}" : "],\"prefix\":[\"Ms.\"]}")
                      : "],\"prefix\":[\"Mr.\"]}";
  if (p_.name.female && rng_.Chance(1500)) {
    o += ",{\"use\":\"maiden\",\"family\":";
    AppendStr(o, rng_.Pick(FamilyNames()));
    o += ",\"given\":[";
    AppendStr(o, p_.name.given);
    o += "]}";
  }
  o += "],\"telecom\":[{\"system\":\"phone\",\"value\":";
  AppendPhone(o, loc);
  o += ",\"use\":\"home\"}";
  if (rng_.Chance(6000)) {
    o += ",{\"system\":\"email\",\"value\":\"";
    AppendAsciiSlug(o, p_.name.given);
    o += '.';
    AppendAsciiSlug(o, p_.name.family);
    AppendUint(o, p_.n);
    o += "@example.com\",\"use\":\"home\"}";
  }
  o += p_.name.female ? "],\"gender\":\"female\"" : "],\"gender\":\"male\"";
  o += ",\"birthDate\":\"";
  AppendDate(o, p_.birth_ms);
  o += "\",\"address\":[";
  AppendAddress(o, loc, "home");
  const Marital& ms = kMarital[rng_.Below(std::size(kMarital))];
  o += "],\"maritalStatus\":{\"coding\":[{\"system\":"
       "\"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus\",\"code\":\"";
  o += ms.code;
  o += "\",\"display\":\"";
  o += ms.display;
  o += "\"}],\"text\":\"";
  o += ms.display;
  const Language& lang = LanguageFor(loc);
  o += "\"},\"communication\":[{\"language\":{\"coding\":[{\"system\":\"urn:ietf:bcp:47\","
       "\"code\":\"";
  o += lang.code;
  o += "\",\"display\":\"";
  o += lang.display;
  o += "\"}]},\"preferred\":true}],\"generalPractitioner\":[";
  AppendPractitionerRef(o, p_.gp);
  o += "],\"managingOrganization\":";
  AppendOrganizationRef(o, p_.org);
  o += '}';
}

}  // namespace fhirgen::detail
