// Bundles are built by concatenation so resource bytes reach the server
// exactly as read from the source; responses are read with simdjson On Demand.
#include "fhir/bundle.h"

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/strings.h"
#include "fhir/json_text.h"
#include "fhir/ondemand_internal.h"

namespace fm::fhir {
namespace {

namespace od = simdjson::ondemand;

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

namespace {

struct RawEntry {
  bool has_response = false;
  std::string_view status;
  std::string_view location;
  std::optional<std::string_view> outcome;   // response.outcome, raw
  std::optional<std::string_view> resource;  // entry.resource, raw
};

// Walks a batch-response; shape problems found on the way go to `reason`.
class ResponseWalker {
 public:
  simdjson::error_code Walk(od::document& doc) {
    od::object root;
    SIMDJSON_TRY(doc.get_object().get(root));
    return ondemand::ForEachField(root, [&](std::string_view key, od::value value) {
      std::string_view text;
      if (key == "resourceType") {
        SIMDJSON_TRY(value.get_string().get(text));
        has_resource_type = true;
        if (text != "Bundle") return Fail("resourceType is " + QuoteToken(text));
      } else if (key == "type") {
        SIMDJSON_TRY(value.get_string().get(text));
        if (text != "batch-response" && text != "transaction-response") {
          return Fail("Bundle.type is " + QuoteToken(text));
        }
      } else if (key == "entry") {
        return ReadEntries(value);
      }
      return simdjson::SUCCESS;
    });
  }

  std::vector<RawEntry> entries;
  std::string reason;
  bool has_resource_type = false;

 private:
  simdjson::error_code Fail(std::string why) {
    reason = std::move(why);
    return simdjson::INCORRECT_TYPE;
  }

  simdjson::error_code ReadEntries(od::value value) {
    return ondemand::ForEachObject(value, [&](od::object entry) {
      RawEntry& raw = entries.emplace_back();
      return ondemand::ForEachField(entry, [&](std::string_view key, od::value field) {
        if (key == "response") {
          raw.has_response = true;
          return ReadResponse(field, raw);
        }
        if (key == "resource") return ondemand::RawObject(field, raw.resource);
        return simdjson::SUCCESS;
      });
    });
  }

  static simdjson::error_code ReadResponse(od::value value, RawEntry& raw) {
    return ondemand::ForEachField(value, [&](std::string_view key, od::value field) {
      if (key == "status") return field.get_string().get(raw.status);
      if (key == "location") return field.get_string().get(raw.location);
      if (key == "outcome") return ondemand::RawObject(field, raw.outcome);
      return simdjson::SUCCESS;
    });
  }
};

base::Error BadResponse(std::string_view reason) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         "not a batch-response Bundle (" + std::string(reason) + ")");
}

// "200", "201 Created", "HTTP/1.1 404 Not Found" → the code; 0 when unreadable.
int ParseEntryStatus(std::string_view text) {
  text = base::Trim(text);
  if (base::StartsWith(text, "HTTP/")) {
    size_t space = text.find(' ');
    text = space == std::string_view::npos ? std::string_view() : base::Trim(text.substr(space));
  }
  if (text.size() < 3 || (text.size() > 3 && text[3] != ' ')) return 0;
  int status = 0;
  for (char c : text.substr(0, 3)) {
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status >= 100 && status <= 599 ? status : 0;
}

void AttachOutcome(std::string_view outcome_json, EntryResult& result) {
  auto issues = ParseOperationOutcome(outcome_json);
  if (!issues.ok()) return;
  result.diagnostics = SummarizeOutcome(*issues);
  result.outcome_json = std::string(outcome_json);
}

}  // namespace

base::Result<std::vector<EntryResult>> ParseBundleResponse(std::string_view body,
                                                           size_t expected_entries) {
  if (std::string_view reason = NotAnObjectReason(body); !reason.empty()) {
    return BadResponse(reason);
  }
  std::string padded(body);
  ReservePadding(padded, simdjson::SIMDJSON_PADDING);
  od::parser parser;
  od::document doc;
  ResponseWalker walker;
  simdjson::error_code error =
      parser.iterate(padded.data(), padded.size(), padded.capacity()).get(doc);
  if (!error) error = walker.Walk(doc);
  if (!walker.reason.empty()) return BadResponse(walker.reason);
  if (error) return BadResponse(ondemand::DescribeJsonError(error));
  if (!walker.has_resource_type) return BadResponse("no resourceType");
  if (walker.entries.size() != expected_entries) {
    return BadResponse("it has " + std::to_string(walker.entries.size()) + " entries for " +
                       std::to_string(expected_entries) + " sent");
  }

  std::vector<EntryResult> results(walker.entries.size());
  for (size_t i = 0; i < walker.entries.size(); ++i) {
    const RawEntry& raw = walker.entries[i];
    EntryResult& result = results[i];
    result.status = ParseEntryStatus(raw.status);
    if (!raw.has_response || result.status == 0) {
      return BadResponse("entry " + std::to_string(i) + " has no readable response.status");
    }
    result.location = std::string(raw.location);
    if (raw.outcome) {
      AttachOutcome(*raw.outcome, result);
    } else if (raw.resource && (result.status < 200 || result.status >= 300)) {
      AttachOutcome(*raw.resource, result);  // some servers put the error outcome here
    }
  }
  // Last, because rewinding lets the parser reuse the buffer of the strings above.
  std::string_view root;
  doc.rewind();
  if (doc.raw_json().get(root) || HasTextAfter(padded, root)) {
    return BadResponse("text after the JSON value");
  }
  return results;
}

}  // namespace fm::fhir
