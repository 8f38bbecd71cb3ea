// Sequencing, ids, references and meta.lastUpdated selection.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "gen_impl.h"
#include "gen_json.h"
#include "gen_time.h"

namespace fhirgen {
namespace {

constexpr std::string_view kTypeNames[kResourceTypeCount] = {
    "Organization", "Practitioner", "Patient", "Encounter",
    "Observation", "Condition", "MedicationRequest"};
constexpr std::string_view kIdPrefix[kResourceTypeCount] = {
    "org", "prac", "pat", "enc", "obs", "cond", "medrx"};

// Per-patient plans (pick one entry of 8 uniformly). Sums 8:15:55:10:10 give
// the target mix Patient 8%, Encounter 15%, Observation 55%, Condition 10%,
// MedicationRequest 10% (Practitioner 1% and Organization 0.3% up front).
constexpr int kEncPlan[8] = {1, 1, 2, 2, 2, 2, 2, 3};
constexpr int kObsPlan[8] = {4, 5, 6, 7, 7, 8, 9, 9};
constexpr int kCondPlan[8] = {0, 1, 1, 1, 1, 2, 2, 2};
constexpr int kMedPlan[8] = {0, 1, 1, 1, 1, 2, 2, 2};

int Share(int total, int parts, int k) { return total / parts + (k < total % parts ? 1 : 0); }

}  // namespace

std::string_view ResourceTypeName(ResourceType t) { return kTypeNames[static_cast<int>(t)]; }

namespace detail {

GeneratorImpl::GeneratorImpl(const GenOptions& options)
    : opt_(options),
      rng_(Mix(options.seed, 0x666869726765ull)),
      seed_str_(std::to_string(options.seed)),
      from_(options.from_epoch_ms),
      till_(options.till_epoch_ms),
      span_(0),
      total_(options.resources) {
  if (from_ < kMinSupportedMs || till_ > kMaxSupportedMs) {
    throw std::invalid_argument("time window must lie within years 1800..9000");
  }
  if (from_ >= till_) throw std::invalid_argument("'from' must be before 'till'");
  span_ = static_cast<uint64_t>(till_ - from_);
  n_org_ = std::max<uint64_t>(1, total_ * 3 / 1000);
  n_prac_ = std::max<uint64_t>(1, total_ / 100);
  scratch_.reserve(256);
}

bool GeneratorImpl::Next(std::string& o) {
  o.clear();
  if (emitted_ >= total_) return false;
  if (count_[static_cast<int>(ResourceType::kOrganization)] < n_org_) {
    EmitOrganization(o);
  } else if (count_[static_cast<int>(ResourceType::kPractitioner)] < n_prac_) {
    EmitPractitioner(o);
  } else if (e_.obs_left > 0) {
    --e_.obs_left;
    EmitObservation(o);
  } else if (e_.cond_left > 0) {
    --e_.cond_left;
    EmitCondition(o);
  } else if (e_.med_left > 0) {
    --e_.med_left;
    EmitMedicationRequest(o);
  } else if (p_.enc_k < p_.n_enc) {
    StartEncounter();
    EmitEncounter(o);
  } else {
    StartPatient();
    EmitPatient(o);
  }
  ++emitted_;
  return true;
}

void GeneratorImpl::StartPatient() {
  p_ = PatientState{};
  e_ = EncounterState{};
  p_.n = count_[static_cast<int>(ResourceType::kPatient)];
  p_.name.female = rng_.Chance(5100);
  p_.name.given = rng_.Pick(p_.name.female ? FemaleGiven() : MaleGiven());
  p_.name.family = rng_.Pick(FamilyNames());
  p_.locale = &rng_.Pick(Locales());
  // At least 30 days old at `from`, up to ~95 years.
  p_.birth_ms = from_ - 30 * kMsPerDay - static_cast<int64_t>(rng_.Below(95 * kMsPerYear));
  p_.gp = rng_.Below(n_prac_);
  p_.org = rng_.Below(n_org_);
  p_.n_enc = kEncPlan[rng_.Below(8)];
  p_.n_obs = kObsPlan[rng_.Below(8)];
  p_.n_cond = kCondPlan[rng_.Below(8)];
  p_.n_med = kMedPlan[rng_.Below(8)];
  if (p_.n == 0) {  // guarantees every type appears early in small outputs
    p_.n_cond = std::max(p_.n_cond, 1);
    p_.n_med = std::max(p_.n_med, 1);
  }
  patient_display_.clear();
  patient_display_ += p_.name.given;
  patient_display_ += ' ';
  patient_display_ += p_.name.family;
}

void GeneratorImpl::StartEncounter() {
  const int k = p_.enc_k++;
  e_.n = count_[static_cast<int>(ResourceType::kEncounter)];
  e_.type = &rng_.Pick(EncounterTypes());
  const EncClassDef& cls = EncClasses()[e_.type->cls];
  const int64_t dur = rng_.Range(cls.min_minutes, cls.max_minutes) * kMsPerMinute;
  // The encounter is finalized at a uniform time in the window; its period
  // ends shortly before that. Start is on a whole minute.
  const int64_t finalized = UniformTime();
  int64_t start = finalized - static_cast<int64_t>(rng_.Below(2 * kMsPerHour)) - dur;
  start = FloorDiv(start, kMsPerMinute) * kMsPerMinute;
  e_.start_ms = start;
  e_.end_ms = start + dur;
  e_.prac = rng_.Chance(7000) ? p_.gp : rng_.Below(n_prac_);
  e_.org = rng_.Chance(8500) ? p_.org : rng_.Below(n_org_);
  e_.obs_left = Share(p_.n_obs, p_.n_enc, k);
  e_.cond_left = Share(p_.n_cond, p_.n_enc, k);
  e_.med_left = Share(p_.n_med, p_.n_enc, k);
}

// Boundary-heavy lastUpdated selection, per 10000 resources:
//   200  same millisecond as the previous resource in the stream
//   100  exactly a UTC midnight inside the window
//    50  one millisecond before a UTC midnight (23:59:59.999)
//    10  exactly `from` (inclusive lower bound)
//    10  exactly `till` - 1 ms (last representable instant)
//  rest  the resource's natural time if inside the window, else uniform.
int64_t GeneratorImpl::Stamp(int64_t natural) {
  const uint64_t r = rng_.Below(10000);
  int64_t t;
  auto in_window = [&](int64_t v) { return v >= from_ && v < till_; };
  if (r < 200 && have_prev_) {
    t = prev_stamp_;
  } else if (r >= 200 && r < 350) {
    // Midnights m with from <= m < till (r < 300) or from <= m-1 < till.
    const bool before = r >= 300;
    const int64_t lo = before ? from_ + 1 : from_;
    const int64_t hi = before ? till_ : till_ - 1;
    const int64_t first = FloorDiv(lo + kMsPerDay - 1, kMsPerDay);
    const int64_t last = FloorDiv(hi, kMsPerDay);
    if (first <= last) {
      const int64_t day = first + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(last - first) + 1));
      t = day * kMsPerDay - (before ? 1 : 0);
    } else {
      t = in_window(natural) ? natural : UniformTime();
    }
  } else if (r >= 350 && r < 360) {
    t = from_;
  } else if (r >= 360 && r < 370) {
    t = till_ - 1;
  } else {
    t = in_window(natural) ? natural : UniformTime();
  }
  prev_stamp_ = t;
  have_prev_ = true;
  return t;
}

void GeneratorImpl::Header(std::string& o, ResourceType t, int64_t natural, const char* profile) {
  const int ti = static_cast<int>(t);
  const uint64_t n = count_[ti]++;
  last_type_ = t;
  o += "{\"resourceType\":\"";
  o += kTypeNames[ti];
  o += "\",\"id\":\"";
  AppendId(o, t, n);
  o += "\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"";
  AppendInstant(o, Stamp(natural));
  o += '"';
  if (profile != nullptr) {
    o += ",\"profile\":[\"";
    o += profile;
    o += "\"]";
  }
  o += '}';
}

void GeneratorImpl::AppendId(std::string& o, ResourceType t, uint64_t n) const {
  o += kIdPrefix[static_cast<int>(t)];
  o += '-';
  o += seed_str_;
  o += '-';
  AppendUint(o, n);
}

void GeneratorImpl::AppendRef(std::string& o, ResourceType t, uint64_t n) const {
  o += "{\"reference\":\"";
  o += kTypeNames[static_cast<int>(t)];
  o += '/';
  AppendId(o, t, n);
  o += "\"}";
}

void GeneratorImpl::AppendRef(std::string& o, ResourceType t, uint64_t n,
                              std::string_view display) const {
  AppendRef(o, t, n);
  o.pop_back();
  o += ",\"display\":";
  AppendStr(o, display);
  o += '}';
}

PersonName GeneratorImpl::PractitionerName(uint64_t prac) const {
  const uint64_t h = Mix(opt_.seed ^ 0x5052414Bull, prac);
  PersonName p{};
  p.female = (h & 1) != 0;
  const auto given = p.female ? FemaleGiven() : MaleGiven();
  p.given = given[(h >> 8) % given.size()];
  p.family = FamilyNames()[(h >> 24) % FamilyNames().size()];
  return p;
}

const Locale& GeneratorImpl::OrganizationLocale(uint64_t org) const {
  const uint64_t h = Mix(opt_.seed ^ 0x4F524741ull, org);
  return Locales()[h % Locales().size()];
}

void GeneratorImpl::AppendOrganizationName(std::string& o, uint64_t org) const {
  const uint64_t h = Mix(opt_.seed ^ 0x4F524741ull, org);
  const std::string_view pattern = OrgNamePatterns()[(h >> 20) % OrgNamePatterns().size()];
  const size_t at = pattern.find("{}");
  o.append(pattern.substr(0, at));
  o += OrganizationLocale(org).city;
  o.append(pattern.substr(at + 2));
}

void GeneratorImpl::AppendPractitionerRef(std::string& o, uint64_t prac) const {
  const PersonName nm = PractitionerName(prac);
  std::string& s = scratch_;
  s.assign("Dr. ");
  s += nm.given;
  s += ' ';
  s += nm.family;
  AppendRef(o, ResourceType::kPractitioner, prac, s);
}

void GeneratorImpl::AppendOrganizationRef(std::string& o, uint64_t org) const {
  std::string& s = scratch_;
  s.clear();
  AppendOrganizationName(s, org);
  AppendRef(o, ResourceType::kOrganization, org, s);
}

void GeneratorImpl::AppendPatientRef(std::string& o) const {
  AppendRef(o, ResourceType::kPatient, p_.n, patient_display_);
}

}  // namespace detail

// ---- public facade ----

Generator::Generator(GenOptions options)
    : impl_(std::make_unique<detail::GeneratorImpl>(options)) {}
Generator::~Generator() = default;
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(Generator&&) noexcept = default;

bool Generator::Next(std::string& line) { return impl_->Next(line); }
ResourceType Generator::last_type() const { return impl_->last_type(); }
uint64_t Generator::emitted() const { return impl_->emitted(); }

}  // namespace fhirgen
