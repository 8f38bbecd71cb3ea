// Internal: minimal append-only JSON building helpers for the hot path.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace fhirgen::detail {

// Appends `s` as a JSON string literal (with quotes), escaping '"', '\\' and
// control characters. Bytes >= 0x80 are copied as-is (input is UTF-8).
inline void AppendStr(std::string& o, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  o.push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    o.append(s.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': o.append("\\\""); break;
      case '\\': o.append("\\\\"); break;
      case '\n': o.append("\\n"); break;
      case '\r': o.append("\\r"); break;
      case '\t': o.append("\\t"); break;
      case '\b': o.append("\\b"); break;
      case '\f': o.append("\\f"); break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        o.append(esc, sizeof esc);
      }
    }
  }
  o.append(s.data() + start, s.size() - start);
  o.push_back('"');
}

inline void AppendInt(std::string& o, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  o.append(buf, r.ptr);
}

inline void AppendUint(std::string& o, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  o.append(buf, r.ptr);
}

// Appends v with zero padding to `width` digits (v >= 0).
inline void AppendPadded(std::string& o, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) o.push_back(buf[--n]);
}

// Appends scaled / 10^decimals as a JSON number, e.g. (1234, 2) -> 12.34.
// Exact (no floating point), so output is identical on every platform.
inline void AppendDecimal(std::string& o, int64_t scaled, int decimals) {
  if (decimals <= 0) {
    AppendInt(o, scaled);
    return;
  }
  if (scaled < 0) {
    o.push_back('-');
    scaled = -scaled;
  }
  int64_t div = 1;
  for (int i = 0; i < decimals; ++i) div *= 10;
  AppendInt(o, scaled / div);
  o.push_back('.');
  AppendPadded(o, static_cast<uint64_t>(scaled % div), decimals);
}

// Lower-case ASCII letters/digits of `s` (drops everything else), used to
// derive e-mail local parts from names that may contain non-ASCII letters.
inline void AppendAsciiSlug(std::string& o, std::string_view s) {
  for (char ch : s) {
    if (ch >= 'A' && ch <= 'Z') o.push_back(static_cast<char>(ch - 'A' + 'a'));
    else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) o.push_back(ch);
  }
}

}  // namespace fhirgen::detail
