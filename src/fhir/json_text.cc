#include "fhir/json_text.h"

#include <cctype>

namespace fm::fhir {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The escape for a byte, or empty when it is written as is.
std::string_view ShortEscape(unsigned char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return {};
  }
}

}  // namespace

std::string_view TrimJsonSpace(std::string_view text) {
  while (!text.empty() && IsJsonSpace(text.back())) text.remove_suffix(1);
  return text;
}

size_t JsonStringLength(std::string_view text) {
  size_t length = 2;
  for (unsigned char c : text) {
    if (!ShortEscape(c).empty()) {
      length += 2;
    } else if (c < 0x20) {
      length += 6;  // \u00XX
    } else {
      length += 1;
    }
  }
  return length;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : text) {
    std::string_view escape = ShortEscape(c);
    if (!escape.empty()) {
      out += escape;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

std::string QuoteToken(std::string_view token) {
  bool plain = !token.empty() && token.size() <= 64;
  for (unsigned char c : token) plain = plain && (std::isalnum(c) || c == '-');
  return plain ? "\"" + std::string(token) + "\"" : "an unexpected value";
}

void ReservePadding(std::string& text, size_t padding) {
  const size_t size = text.size();
  text.append(padding, '\0');
  text.resize(size);
}

std::string_view NotAnObjectReason(std::string_view text) {
  for (char c : text) {
    if (IsJsonSpace(c)) continue;
    return c == '{' ? "" : "not a JSON object";
  }
  return "empty body";
}

bool HasTextAfter(std::string_view text, std::string_view value) {
  size_t end = static_cast<size_t>(value.data() - text.data()) + value.size();
  for (size_t i = end; i < text.size(); ++i) {
    if (!IsJsonSpace(text[i])) return true;
  }
  return false;
}

}  // namespace fm::fhir
