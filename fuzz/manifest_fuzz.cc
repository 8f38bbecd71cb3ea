// fuzz-sources: src/fhir/bulk_export.cc src/fhir/client.cc src/fhir/outcome.cc src/fhir/json_text.cc
// fuzz-sources: src/fhir/capabilities.cc src/fhir/ondemand.cc src/fhir/bundle.cc
// fuzz-sources: src/http/transport.cc src/http/response_text.cc src/json/resource.cc
// fuzz-sources: src/base/result.cc src/base/time.cc src/base/strings.cc
// fuzz-libs: -lsimdjson
// Arbitrary bytes as a Bulk Data completion manifest. Besides crashes it
// checks that a parsed manifest is sane (absolute URLs, counts >= 0, a
// transactionTime) and that an error message never quotes the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fhir/bulk_export.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = fm::fhir::ParseManifest(text);
  if (m.ok()) {
    if (!m->transaction_time) std::abort();
    for (const auto* list : {&m->output, &m->error, &m->deleted}) {
      for (const auto& f : *list) {
        if (f.url.rfind("http://", 0) != 0 && f.url.rfind("https://", 0) != 0) std::abort();
        if (f.count < -1) std::abort();
      }
    }
    for (const auto& f : m->output) {
      if (f.type.empty()) std::abort();
    }
  } else if (size >= 16 && m.error().message.find(text) != std::string::npos &&
             text.find_first_of("{}[]\"") != std::string_view::npos) {
    // The message quotes the body. (Plain words may coincide with the
    // message's own fixed text: the fuzzer found " manifest: not valid ".)
    std::abort();
  }
  return 0;
}
