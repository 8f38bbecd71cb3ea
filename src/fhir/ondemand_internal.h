// simdjson On Demand walking helpers shared by the fhir response parsers
// (bundle.cc, search_page.cc). Internal: included only by the fhir module's
// own adapter .cc files, never by another module or a public header, so the
// third-party types stay out of the module's interface.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir/json_text.h"

namespace fm::fhir::ondemand {

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

}  // namespace fm::fhir::ondemand
