// Bundles are built by concatenation so resource bytes reach the server
// exactly as read from the source (responses are parsed in ondemand.cc).
#include "fhir/bundle.h"

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/strings.h"
#include "fhir/json_text.h"

namespace fm::fhir {
namespace {

constexpr std::string_view kBatchHead = R"({"resourceType":"Bundle","type":"batch","entry":[)";
constexpr std::string_view kTransactionHead =
    R"({"resourceType":"Bundle","type":"transaction","entry":[)";
constexpr std::string_view kResourceKey = R"({"resource":)";
constexpr std::string_view kRequestKey = R"("request":{"method":)";
constexpr std::string_view kUrlKey = R"(,"url":)";
constexpr std::string_view kEntryTail = "}}";
constexpr std::string_view kBundleTail = "]}";

size_t EntryLength(const BundleEntry& entry) {
  size_t length = 1 + kRequestKey.size() + JsonStringLength(entry.method) + kUrlKey.size() +
                  JsonStringLength(entry.url) + kEntryTail.size();
  if (!entry.resource_json.empty())
    length += kResourceKey.size() - 1 + entry.resource_json.size() + 1;
  return length;
}

}  // namespace

std::string BuildBundle(const std::vector<BundleEntry>& entries, bool transaction) {
  std::string_view head = transaction ? kTransactionHead : kBatchHead;
  size_t size = head.size() + kBundleTail.size() + (entries.empty() ? 0 : entries.size() - 1);
  for (const BundleEntry& entry : entries) size += EntryLength(entry);

  std::string out;
  out.reserve(size);
  out += head;
  for (size_t i = 0; i < entries.size(); ++i) {
    const BundleEntry& entry = entries[i];
    if (i > 0) out += ',';
    if (entry.resource_json.empty()) {
      out += '{';
    } else {
      out += kResourceKey;
      out += entry.resource_json;
      out += ',';
    }
    out += kRequestKey;
    AppendJsonString(out, entry.method);
    out += kUrlKey;
    AppendJsonString(out, entry.url);
    out += kEntryTail;
  }
  out += kBundleTail;
  assert(out.size() == size);
  return out;
}

}  // namespace fm::fhir
