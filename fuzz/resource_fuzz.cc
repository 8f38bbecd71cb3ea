// Arbitrary bytes through everything that reads a resource: ReadKey,
// CheckNesting, RewriteAbsoluteReferences, Canonicalize, Diff and Sha256Hex.
// Besides crashes it checks that a canonical form is a fixed point, that a
// document does not differ from its own canonical form, and that ReadKey
// agrees with itself on the canonical form.
// fuzz-sources: src/json/resource.cc src/json/canonical.cc
// fuzz-sources: src/base/result.cc src/base/time.cc src/base/strings.cc
// fuzz-libs: -lsimdjson -lcrypto
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "json/canonical.h"
#include "json/resource.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

const std::vector<std::string> kNoIgnore;
const std::vector<std::string> kIgnore = {"/meta/versionId", "/meta/lastUpdated"};

void CheckCanonical(std::string_view input, fm::json::ResourceReader& reader) {
  auto canonical = fm::json::Canonicalize(input, kNoIgnore);
  if (!canonical.ok()) return;
  auto again = fm::json::Canonicalize(*canonical, kNoIgnore);
  Check(again.ok() && *again == *canonical);
  auto diff = fm::json::Diff(input, *canonical, kNoIgnore);
  Check(diff.ok() && diff->empty());

  auto key = reader.ReadKey(input);
  if (key.ok()) {
    auto canonical_key = reader.ReadKey(*canonical);
    Check(canonical_key.ok());
    Check(canonical_key->type == key->type && canonical_key->id == key->id);
    Check(canonical_key->version_id == key->version_id);
    Check(canonical_key->last_updated == key->last_updated);
  }

  auto stripped = fm::json::Canonicalize(input, kIgnore);
  Check(stripped.ok());
  auto stripped_diff = fm::json::Diff(input, *stripped, kIgnore);
  Check(stripped_diff.ok() && stripped_diff->empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fm::json::ResourceReader reader;  // reused across inputs, as in production
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)reader.ReadKey(input);
  (void)fm::json::CheckNesting(input, 64);
  std::string rewritten = fm::json::RewriteAbsoluteReferences(input, "http://a/fhir/");
  Check(rewritten.size() <= input.size());
  CheckCanonical(input, reader);
  Check(fm::json::Sha256Hex(input).size() == 64);
  return 0;
}
