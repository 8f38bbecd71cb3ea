// Search pages can be megabytes, so they are read with simdjson On Demand in
// one pass: no DOM, and each matching resource is copied once, verbatim. On
// Demand checks the structure it walks but not the inside of a value it skips
// or copies raw, so a resource with a bad literal inside is passed on as is;
// the destination rejects it, entry by entry.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir/client.h"
#include "fhir/json_text.h"

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
    for (auto field_result : root) {
      od::field field;
      SIMDJSON_TRY(std::move(field_result).get(field));
      std::string_view key;
      SIMDJSON_TRY(field.unescaped_key().get(key));
      if (key == "resourceType") {
        SIMDJSON_TRY(field.value().get_string().get(resource_type_));
        has_resource_type_ = true;
        if (resource_type_ != "Bundle") {
          reason = "resourceType is " + QuoteToken(resource_type_);
          return simdjson::INCORRECT_TYPE;
        }
      } else if (key == "type") {
        std::string_view type;
        SIMDJSON_TRY(field.value().get_string().get(type));
        if (type != "searchset") {
          reason = "Bundle.type is " + QuoteToken(type);
          return simdjson::INCORRECT_TYPE;
        }
      } else if (key == "total") {
        int64_t total = 0;
        SIMDJSON_TRY(field.value().get_int64().get(total));
        page.total = total;
      } else if (key == "link") {
        SIMDJSON_TRY(ReadLinks(field.value()));
      } else if (key == "entry") {
        SIMDJSON_TRY(ReadEntries(field.value()));
      }
    }
    return simdjson::SUCCESS;
  }

  bool has_resource_type() const { return has_resource_type_; }

  SearchPage page;
  std::optional<std::string> next_link;  // as written, maybe relative
  std::string reason;

 private:
  simdjson::error_code ReadLinks(od::value links) {
    od::array array;
    SIMDJSON_TRY(links.get_array().get(array));
    for (auto element : array) {
      od::object link;
      SIMDJSON_TRY(element.get_object().get(link));
      std::string_view relation;
      std::optional<std::string_view> url;
      for (auto field_result : link) {
        od::field field;
        SIMDJSON_TRY(std::move(field_result).get(field));
        std::string_view key;
        SIMDJSON_TRY(field.unescaped_key().get(key));
        if (key == "relation") {
          SIMDJSON_TRY(field.value().get_string().get(relation));
        } else if (key == "url") {
          std::string_view value;
          SIMDJSON_TRY(field.value().get_string().get(value));
          url = value;
        }
      }
      if (relation == "next" && url && !url->empty()) next_link = std::string(*url);
    }
    return simdjson::SUCCESS;
  }

  simdjson::error_code ReadEntries(od::value entries) {
    od::array array;
    SIMDJSON_TRY(entries.get_array().get(array));
    for (auto element : array) {
      od::object entry;
      SIMDJSON_TRY(element.get_object().get(entry));
      std::optional<std::string_view> resource;
      std::string_view mode = "match";
      for (auto field_result : entry) {
        od::field field;
        SIMDJSON_TRY(std::move(field_result).get(field));
        std::string_view key;
        SIMDJSON_TRY(field.unescaped_key().get(key));
        if (key == "resource" && keep_resources_) {
          od::object object;
          SIMDJSON_TRY(field.value().get_object().get(object));
          std::string_view raw;
          SIMDJSON_TRY(object.raw_json().get(raw));
          resource = TrimJsonSpace(raw);
        } else if (key == "search") {
          SIMDJSON_TRY(ReadSearchMode(field.value(), mode));
        }
      }
      // "include" and "outcome" entries are not results of the search.
      if (resource && mode == "match") page.resources.emplace_back(*resource);
    }
    return simdjson::SUCCESS;
  }

  static simdjson::error_code ReadSearchMode(od::value search, std::string_view& mode) {
    od::object object;
    SIMDJSON_TRY(search.get_object().get(object));
    for (auto field_result : object) {
      od::field field;
      SIMDJSON_TRY(std::move(field_result).get(field));
      std::string_view key;
      SIMDJSON_TRY(field.unescaped_key().get(key));
      if (key == "mode") SIMDJSON_TRY(field.value().get_string().get(mode));
    }
    return simdjson::SUCCESS;
  }

  bool keep_resources_;
  std::string_view resource_type_;
  bool has_resource_type_ = false;
};

std::string DescribeJsonError(simdjson::error_code error) {
  bool shape = error == simdjson::INCORRECT_TYPE || error == simdjson::NUMBER_OUT_OF_RANGE;
  return std::string(shape ? "unexpected field type: " : "invalid JSON: ") +
         simdjson::error_message(error);
}

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
  if (error) return NotABundle(DescribeJsonError(error));
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
