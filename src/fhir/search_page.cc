// Search pages can be megabytes, so they are read with simdjson On Demand in
// one pass: no DOM, and each matching resource is copied once, verbatim. On
// Demand checks the structure it walks but not the inside of a value it skips
// or copies raw, so a resource with a bad literal inside is passed on as is;
// the destination rejects it, entry by entry.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir/client.h"
#include "fhir/json_text.h"
#include "fhir/ondemand_internal.h"

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
