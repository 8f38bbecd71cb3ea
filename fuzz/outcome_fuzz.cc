// fuzz-sources: src/fhir/outcome.cc src/json/resource.cc
// fuzz-sources: src/base/result.cc src/base/time.cc src/base/strings.cc
// fuzz-libs: -lsimdjson
// Arbitrary bytes as an OperationOutcome, and as the fields of issues handed
// straight to SummarizeOutcome. Besides crashes it checks that a summary stays
// within its bound and that valid UTF-8 in gives valid UTF-8 out (a summary
// ends up in logs, the state store and JSON status output).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/bundle.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

bool IsUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void CheckSummary(const std::vector<fm::fhir::OutcomeIssue>& issues, bool utf8_in) {
  std::string summary = fm::fhir::SummarizeOutcome(issues);
  Require(summary.size() <= 503);
  if (utf8_in) Require(IsUtf8(summary));
  for (char c : summary) Require(static_cast<unsigned char>(c) >= 0x20);
  (void)fm::fhir::IsTransientOutcome(issues);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto issues = fm::fhir::ParseOperationOutcome(text);
  if (issues.ok()) {
    CheckSummary(*issues, /*utf8_in=*/true);  // the JSON parser only accepts UTF-8
  } else {
    Require(issues.error().kind == fm::base::ErrorKind::kInvalidData);
  }

  // The same bytes as issues: fields split at NUL bytes, three per issue.
  std::vector<fm::fhir::OutcomeIssue> direct;
  std::vector<std::string> fields(3);
  size_t field = 0;
  for (char c : text) {
    if (c != '\0') {
      fields[field] += c;
      continue;
    }
    if (++field == 3) {
      direct.push_back({fields[0], fields[1], fields[2]});
      fields.assign(3, std::string());
      field = 0;
    }
  }
  direct.push_back({fields[0], fields[1], fields[2]});
  CheckSummary(direct, IsUtf8(text));
  return 0;
}
