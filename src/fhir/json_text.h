// Text helpers shared by the fhir parsers and the bundle builder. Internal to
// the fhir module; no third-party types, so the simdjson and nlohmann code
// stays in the .cc files.
#pragma once

#include <string>
#include <string_view>

namespace fm::fhir {

// Drops the JSON whitespace (space, tab, CR, LF) at the end of `text`.
std::string_view TrimJsonSpace(std::string_view text);

// Bytes AppendJsonString adds for `text`, quotes included.
size_t JsonStringLength(std::string_view text);
// Appends `text` as a JSON string literal: quotes, \" \\ and control
// characters escaped, other bytes (UTF-8) as they are.
void AppendJsonString(std::string& out, std::string_view text);

// For error messages that must not quote a body: `token` in quotes when it
// looks like a FHIR name or code ([A-Za-z0-9-], at most 64), else
// "an unexpected value".
std::string QuoteToken(std::string_view token);

// Makes capacity() at least size() + padding, the extra bytes initialised,
// size() unchanged (simdjson reads past the end of its input).
void ReservePadding(std::string& text, size_t padding);

// "empty body" or "not a JSON object" when `text` cannot hold a JSON object
// (an HTML error page, an array), judged by its first byte; else "".
std::string_view NotAnObjectReason(std::string_view text);

// True when `text` has anything but whitespace after `value`, a view into it.
bool HasTextAfter(std::string_view text, std::string_view value);

}  // namespace fm::fhir
