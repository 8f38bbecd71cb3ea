// fhirgen: deterministic, streaming synthetic FHIR R4 data generator.
//
// Usage:
//   fhirgen::GenOptions opt;
//   opt.seed = 42; opt.resources = 100000;
//   opt.from_epoch_ms = fhirgen::ParseTimestamp("2021-01-01");
//   opt.till_epoch_ms = fhirgen::ParseTimestamp("2024-01-01");
//   fhirgen::Generator gen(opt);
//   std::string line;
//   while (gen.Next(line)) { /* line = one compact JSON resource, no '\n' */ }
//
// Output order guarantees that every relative reference ("Patient/<id>", ...)
// points at a resource emitted earlier in the stream. Memory use is constant
// regardless of `resources`. Output is byte-identical for a given GenOptions
// on every platform (own PRNG, integer-only arithmetic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fhirgen {

enum class ResourceType : uint8_t {
  kOrganization = 0,
  kPractitioner,
  kPatient,
  kEncounter,
  kObservation,
  kCondition,
  kMedicationRequest,
};
inline constexpr int kResourceTypeCount = 7;

// "Organization", "Practitioner", ... (the FHIR resourceType string).
std::string_view ResourceTypeName(ResourceType t);

struct GenOptions {
  uint64_t seed = 1;
  size_t resources = 1000;  // total number of resources emitted (exact)
  // meta.lastUpdated values lie in [from_epoch_ms, till_epoch_ms).
  // Both must lie within years [1800, 9000]; from must be < till.
  int64_t from_epoch_ms = 1609459200000;  // 2021-01-01T00:00:00.000Z
  int64_t till_epoch_ms = 1704067200000;  // 2024-01-01T00:00:00.000Z
};

namespace detail {
class GeneratorImpl;
}

class Generator {
 public:
  // Throws std::invalid_argument on an invalid time window.
  explicit Generator(GenOptions options);
  ~Generator();
  Generator(Generator&&) noexcept;
  Generator& operator=(Generator&&) noexcept;
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Replaces `line` with the next resource (compact JSON, no newline) and
  // returns true; returns false (line cleared) once all resources are out.
  // Reuse the same string across calls to avoid reallocations.
  bool Next(std::string& line);

  // Type of the resource produced by the last successful Next().
  ResourceType last_type() const;
  // Number of resources produced so far.
  uint64_t emitted() const;

 private:
  std::unique_ptr<detail::GeneratorImpl> impl_;
};

// Parses "YYYY-MM-DD" (UTC midnight) or a FHIR instant/dateTime with time,
// e.g. "2021-03-04T05:06:07Z", "2021-03-04T05:06:07.123+01:00", into epoch
// milliseconds. Throws std::invalid_argument on malformed input.
int64_t ParseTimestamp(std::string_view text);

// Formats epoch milliseconds as a FHIR instant "YYYY-MM-DDThh:mm:ss.sssZ".
std::string FormatInstant(int64_t epoch_ms);

}  // namespace fhirgen
