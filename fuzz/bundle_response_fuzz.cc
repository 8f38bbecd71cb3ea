// fuzz-sources: src/fhir/bundle.cc src/fhir/ondemand.cc src/fhir/outcome.cc src/fhir/json_text.cc
// fuzz-sources: src/json/resource.cc src/base/result.cc src/base/time.cc src/base/strings.cc
// fuzz-sources: src/fhir/client.cc src/fhir/capabilities.cc src/http/transport.cc
// fuzz-sources: src/http/response_text.cc
// fuzz-libs: -lsimdjson
// Arbitrary bytes as a batch-response Bundle: the first byte picks how many
// entries were sent, the rest is the body. Besides crashes it checks that an
// accepted response has exactly that many entries, every status is an HTTP
// status, every kept outcome is an OperationOutcome with a bounded summary,
// and that a failure is kInvalidData.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fhir/bundle.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t expected = data[0] % 8;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto results = fm::fhir::ParseBundleResponse(body, expected);
  if (!results.ok()) {
    Require(results.error().kind == fm::base::ErrorKind::kInvalidData);
    Require(results.error().message.size() < 400);
    return 0;
  }
  Require(results->size() == expected);
  for (const fm::fhir::EntryResult& entry : *results) {
    Require(entry.status >= 100 && entry.status <= 599);
    Require(entry.diagnostics.size() <= 503);
    if (!entry.outcome_json.empty()) {
      Require(fm::fhir::ParseOperationOutcome(entry.outcome_json).ok());
    } else {
      Require(entry.diagnostics.empty());
    }
  }
  return 0;
}
