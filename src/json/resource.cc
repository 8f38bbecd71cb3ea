#include "json/resource.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace fm::json {

namespace od = simdjson::ondemand;

struct ResourceReader::Impl {
  od::parser parser;
  std::vector<char> buffer;  // the resource plus SIMDJSON_PADDING, reused across calls
};

namespace {

// Error messages name the field at fault, never resource content.
base::Error Invalid(std::string_view reason) {
  return base::MakeError(base::ErrorKind::kInvalidData, "resource " + std::string(reason));
}

base::Error NotJson(simdjson::error_code code) {
  return Invalid(std::string("is not valid JSON (") + simdjson::error_message(code) + ")");
}

// A wrong type is reported by field name; any other error is a syntax error.
base::Error WrongValue(simdjson::error_code code, std::string_view what) {
  if (code == simdjson::INCORRECT_TYPE) return Invalid(std::string(what));
  return NotJson(code);
}

base::Status ReadString(od::value& value, std::string_view field, std::string& out) {
  std::string_view text;
  if (auto code = value.get_string().get(text)) {
    return WrongValue(code, std::string(field) + " is not a string");
  }
  out.assign(text);
  return base::Ok();
}

// meta.extension: looks for the deleted-state marker. Anything else in it,
// including shapes that are not extensions, is skipped (not a validator).
base::Status ReadMetaExtensions(od::value& value, ResourceKey& key) {
  od::json_type type;
  if (auto code = value.type().get(type)) return NotJson(code);
  if (type != od::json_type::array) return base::Ok();
  for (auto item_result : value.get_array()) {
    od::value item;
    if (auto code = std::move(item_result).get(item)) return NotJson(code);
    if (auto code = item.type().get(type)) return NotJson(code);
    if (type != od::json_type::object) continue;
    std::string_view url, state;
    for (auto field_result : item.get_object()) {
      od::field field;
      if (auto code = std::move(field_result).get(field)) return NotJson(code);
      od::raw_json_string name = field.key();
      std::string_view* out = name == "url" ? &url : name == "valueString" ? &state : nullptr;
      if (out == nullptr) continue;
      // A value that is not a string is no match; a syntax error is an error.
      if (auto code = field.value().get_string().get(*out);
          code && code != simdjson::INCORRECT_TYPE) {
        return NotJson(code);
      }
    }
    if (url == kDeletedStateExtension && state == "soft-deleted") key.soft_deleted = true;
  }
  return base::Ok();
}

base::Status ReadMeta(od::value& value, ResourceKey& key) {
  od::object meta;
  if (auto code = value.get_object().get(meta)) return WrongValue(code, "meta is not an object");
  for (auto field_result : meta) {
    od::field field;
    if (auto code = std::move(field_result).get(field)) return NotJson(code);
    od::raw_json_string name = field.key();
    if (name == "versionId") {
      FM_TRY_STATUS(ReadString(field.value(), "meta.versionId", key.version_id));
    } else if (name == "lastUpdated") {
      std::string_view text;
      if (auto code = field.value().get_string().get(text)) {
        return WrongValue(code, "meta.lastUpdated is not a string");
      }
      auto instant = base::ParseInstant(text);
      if (!instant.ok()) return Invalid("meta.lastUpdated is not a FHIR instant");
      key.last_updated = *instant;
    } else if (name == "extension") {
      FM_TRY_STATUS(ReadMetaExtensions(field.value(), key));
    }
  }
  return base::Ok();
}

base::Status ReadFields(od::object& object, ResourceKey& key, bool& has_type) {
  for (auto field_result : object) {
    od::field field;
    if (auto code = std::move(field_result).get(field)) return NotJson(code);
    od::raw_json_string name = field.key();
    if (name == "resourceType") {
      FM_TRY_STATUS(ReadString(field.value(), "resourceType", key.type));
      has_type = true;
    } else if (name == "id") {
      FM_TRY_STATUS(ReadString(field.value(), "id", key.id));
    } else if (name == "meta") {
      FM_TRY_STATUS(ReadMeta(field.value(), key));
    }
  }
  return base::Ok();
}

// Index of the quote that closes the string opened at `open`, or npos when the
// string is not closed. A quote is escaped iff an odd run of backslashes precedes it.
size_t StringEnd(std::string_view s, size_t open) {
  size_t from = open + 1;
  while (from < s.size()) {
    const void* hit = std::memchr(s.data() + from, '"', s.size() - from);
    if (hit == nullptr) return std::string_view::npos;
    size_t quote = static_cast<size_t>(static_cast<const char*>(hit) - s.data());
    size_t backslashes = 0;
    while (s[quote - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote;
    from = quote + 1;
  }
  return std::string_view::npos;
}

// Matches `prefix` at the start of the raw (still escaped) string content,
// accepting "\/" for '/'. Returns the raw bytes consumed, or npos.
size_t MatchRaw(std::string_view raw, std::string_view prefix) {
  size_t r = 0;
  for (char want : prefix) {
    if (r >= raw.size()) return std::string_view::npos;
    char got = raw[r++];
    if (got == '\\') {
      if (r >= raw.size() || raw[r] != '/') return std::string_view::npos;
      got = '/';
      ++r;
    }
    if (got != want) return std::string_view::npos;
  }
  return r;
}

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsUpper(c) || (c >= 'a' && c <= 'z'); }

// "Type/id..." (raw, so the slash may be "\/"): what a relative reference looks like.
bool LooksLikeTypeAndId(std::string_view raw) {
  if (raw.empty() || !IsUpper(raw[0])) return false;
  size_t i = 1;
  while (i < raw.size() && IsAlpha(raw[i])) ++i;
  size_t slash = MatchRaw(raw.substr(i), "/");
  return slash != std::string_view::npos && i + slash < raw.size();
}

// string_view::find (memchr for the first byte, then compare) measured
// faster here than glibc memmem, which is slow for two-byte needles.
bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string_view TrimSlashes(std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return base_url;
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

ResourceReader::ResourceReader() : impl_(std::make_unique<Impl>()) {}
ResourceReader::~ResourceReader() = default;

base::Result<ResourceKey> ResourceReader::ReadKey(std::string_view resource_json) {
  std::vector<char>& buffer = impl_->buffer;
  size_t needed = resource_json.size() + simdjson::SIMDJSON_PADDING;
  if (buffer.size() < needed) buffer.resize(std::max(needed, 2 * buffer.size()));
  if (!resource_json.empty()) {
    std::memcpy(buffer.data(), resource_json.data(), resource_json.size());
  }

  od::document doc;
  if (auto code =
          impl_->parser.iterate(buffer.data(), resource_json.size(), buffer.size()).get(doc)) {
    return NotJson(code);
  }
  od::object object;
  if (auto code = doc.get_object().get(object)) return WrongValue(code, "is not a JSON object");
  ResourceKey key;
  bool has_type = false;
  FM_TRY_STATUS(ReadFields(object, key, has_type));
  // After the object, only whitespace may follow.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return Invalid("has content after the JSON object");
  }
  if (!has_type) return Invalid("has no resourceType");
  if (key.type.empty()) return Invalid("has an empty resourceType");
  return key;
}

bool MayHaveAbsoluteReferences(std::string_view resource_json, std::string_view base_url) {
  base_url = TrimSlashes(base_url);
  return !base_url.empty() && (Contains(resource_json, base_url) || Contains(resource_json, "\\/"));
}

// A single pass that knows strings from structure: a string followed by ':' is
// a key; the string right after the key "reference" and its ':' is rewritten.
std::string RewriteAbsoluteReferences(std::string_view resource_json, std::string_view base_url) {
  if (!MayHaveAbsoluteReferences(resource_json, base_url)) return std::string(resource_json);
  base_url = TrimSlashes(base_url);
  constexpr auto npos = std::string_view::npos;
  std::string prefix(base_url);
  prefix += '/';
  std::string out;
  size_t copied = 0;  // resource_json[0, copied) is in `out` already
  bool changed = false;
  bool reference_key = false;    // the last string was "reference"
  bool reference_value = false;  // ... and ':' followed it
  for (size_t i = 0; i < resource_json.size(); ++i) {
    char c = resource_json[i];
    if (c == '"') {
      size_t close = StringEnd(resource_json, i);
      if (close == npos) break;  // malformed: leave the rest alone
      std::string_view raw = resource_json.substr(i + 1, close - i - 1);
      size_t skip = reference_value ? MatchRaw(raw, prefix) : npos;
      if (skip != npos && LooksLikeTypeAndId(raw.substr(skip))) {
        if (!changed) out.reserve(resource_json.size());
        out.append(resource_json.substr(copied, i + 1 - copied));
        copied = i + 1 + skip;
        changed = true;
      }
      reference_key = !reference_value && raw == "reference";
      reference_value = false;
      i = close;
    } else if (c == ':') {
      reference_value = reference_key;
      reference_key = false;
    } else if (!IsJsonSpace(c)) {
      reference_key = reference_value = false;
    }
  }
  if (!changed) return std::string(resource_json);
  out.append(resource_json.substr(copied));
  return out;
}

base::Status CheckNesting(std::string_view json, int max_depth) {
  int depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') {
      size_t close = StringEnd(json, i);
      if (close == std::string_view::npos) break;  // an open string nests nothing
      i = close;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               "JSON nested deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return base::Ok();
}

}  // namespace fm::json
