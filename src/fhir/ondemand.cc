// The fhir module's simdjson On Demand parsers, in one translation unit so
// simdjson stays inside this adapter file: batch/transaction responses
// (ParseBundleResponse, bundle.h) and search pages (ParseSearchPage,
// client.h), with the walking helpers they share.
//
// Search pages can be megabytes, so they are read with simdjson On Demand in
// one pass: no DOM, and each matching resource is copied once, verbatim. On
// Demand checks the structure it walks but not the inside of a value it skips
// or copies raw, so a resource with a bad literal inside is passed on as is;
// the destination rejects it, entry by entry.
#include <simdjson.h>

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/strings.h"
#include "fhir/bundle.h"
#include "fhir/client.h"
#include "fhir/json_text.h"

namespace fm::fhir::ondemand {
namespace {

namespace od = simdjson::ondemand;

// Calls `fn(key, field_value)` (key unescaped) for each field of the object
// `value`, in document order; the first error — from the walk or from `fn` —
// stops it and is returned.
template <class Fn>
simdjson::error_code ForEachField(od::object object, Fn&& fn) {
  for (auto field_result : object) {
    od::field field;
    SIMDJSON_TRY(std::move(field_result).get(field));
    std::string_view key;
    SIMDJSON_TRY(field.unescaped_key().get(key));
    SIMDJSON_TRY(fn(key, field.value()));
  }
  return simdjson::SUCCESS;
}

template <class Fn>
simdjson::error_code ForEachField(od::value value, Fn&& fn) {
  od::object object;
  SIMDJSON_TRY(value.get_object().get(object));
  return ForEachField(object, std::forward<Fn>(fn));
}

// Calls `fn(element_object)` for each element of the array `value`; every
// element must be an object.
template <class Fn>
simdjson::error_code ForEachObject(od::value value, Fn&& fn) {
  od::array array;
  SIMDJSON_TRY(value.get_array().get(array));
  for (auto element : array) {
    od::object object;
    SIMDJSON_TRY(element.get_object().get(object));
    SIMDJSON_TRY(fn(object));
  }
  return simdjson::SUCCESS;
}

// The raw text of the object `value`, trailing whitespace trimmed.
inline simdjson::error_code RawObject(od::value value, std::optional<std::string_view>& out) {
  od::object object;
  SIMDJSON_TRY(value.get_object().get(object));
  std::string_view text;
  SIMDJSON_TRY(object.raw_json().get(text));
  out = TrimJsonSpace(text);
  return simdjson::SUCCESS;
}

// For error messages: the kind of problem, never the text that caused it.
inline std::string DescribeJsonError(simdjson::error_code error) {
  bool shape = error == simdjson::INCORRECT_TYPE || error == simdjson::NUMBER_OUT_OF_RANGE;
  return std::string(shape ? "unexpected field type: " : "invalid JSON: ") +
         simdjson::error_message(error);
}

}  // namespace
}  // namespace fm::fhir::ondemand

namespace fm::fhir {

namespace {

namespace od = simdjson::ondemand;

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

namespace fm::fhir {
namespace {

namespace od = simdjson::ondemand;

// One pass over a page. Shape problems found on the way (a resourceType that
// is not Bundle) are kept in `reason` and stop the walk early.
class PageWalker {
 public:
  explicit PageWalker(bool keep_resources) : keep_resources_(keep_resources) {}

  simdjson::error_code Walk(od::document& doc) {
    od::object root;
    SIMDJSON_TRY(doc.get_object().get(root));
    return ondemand::ForEachField(root, [&](std::string_view key, od::value value) {
      if (key == "resourceType") {
        SIMDJSON_TRY(value.get_string().get(resource_type_));
        has_resource_type_ = true;
        if (resource_type_ != "Bundle")
          return Fail("resourceType is " + QuoteToken(resource_type_));
      } else if (key == "type") {
        std::string_view type;
        SIMDJSON_TRY(value.get_string().get(type));
        if (type != "searchset") return Fail("Bundle.type is " + QuoteToken(type));
      } else if (key == "total") {
        int64_t total = 0;
        SIMDJSON_TRY(value.get_int64().get(total));
        page.total = total;
      } else if (key == "link") {
        return ReadLinks(value);
      } else if (key == "entry") {
        return ReadEntries(value);
      }
      return simdjson::SUCCESS;
    });
  }

  bool has_resource_type() const { return has_resource_type_; }

  SearchPage page;
  std::optional<std::string> next_link;  // as written, maybe relative
  std::string reason;

 private:
  simdjson::error_code Fail(std::string why) {
    reason = std::move(why);
    return simdjson::INCORRECT_TYPE;
  }

  simdjson::error_code ReadLinks(od::value links) {
    return ondemand::ForEachObject(links, [&](od::object link) {
      std::string_view relation;
      std::optional<std::string_view> url;
      SIMDJSON_TRY(ondemand::ForEachField(link, [&](std::string_view key, od::value value) {
        if (key == "relation") return value.get_string().get(relation);
        if (key == "url") {
          std::string_view text;
          SIMDJSON_TRY(value.get_string().get(text));
          url = text;
        }
        return simdjson::SUCCESS;
      }));
      if (relation == "next" && url && !url->empty()) next_link = std::string(*url);
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code ReadEntries(od::value entries) {
    return ondemand::ForEachObject(entries, [&](od::object entry) {
      std::optional<std::string_view> resource;
      std::string_view mode = "match";
      SIMDJSON_TRY(ondemand::ForEachField(entry, [&](std::string_view key, od::value value) {
        if (key == "resource" && keep_resources_) return ondemand::RawObject(value, resource);
        if (key == "search") {
          return ondemand::ForEachField(value, [&](std::string_view k, od::value v) {
            return k == "mode" ? v.get_string().get(mode) : simdjson::SUCCESS;
          });
        }
        return simdjson::SUCCESS;
      }));
      // "include" and "outcome" entries are not results of the search.
      if (resource && mode == "match") page.resources.emplace_back(*resource);
      return simdjson::SUCCESS;
    });
  }

  bool keep_resources_;
  std::string_view resource_type_;
  bool has_resource_type_ = false;
};

base::Error NotABundle(std::string_view reason) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         "not a searchset Bundle (" + std::string(reason) + ")");
}

}  // namespace

base::Result<SearchPage> ParseSearchPage(std::string body, std::string_view base_url,
                                         bool keep_resources) {
  if (std::string_view reason = NotAnObjectReason(body); !reason.empty()) {
    return NotABundle(reason);
  }
  const size_t size = body.size();
  ReservePadding(body, simdjson::SIMDJSON_PADDING);
  od::parser parser;
  od::document doc;
  PageWalker walker(keep_resources);
  simdjson::error_code error = parser.iterate(body.data(), size, body.capacity()).get(doc);
  if (!error) error = walker.Walk(doc);
  if (!walker.reason.empty()) return NotABundle(walker.reason);
  if (error) return NotABundle(ondemand::DescribeJsonError(error));
  // A bare {"total":N} is what the Medplum router answers to _summary=count.
  if (!walker.has_resource_type() && keep_resources) return NotABundle("no resourceType");
  // On Demand stops at the end of the root object; look for text after it.
  std::string_view root;
  doc.rewind();
  if (doc.raw_json().get(root) || HasTextAfter(std::string_view(body.data(), size), root)) {
    return NotABundle("text after the JSON value");
  }

  SearchPage page = std::move(walker.page);
  if (walker.next_link) page.next_url = ResolveLink(base_url, *walker.next_link);
  return page;
}

}  // namespace fm::fhir
