#include "base/time.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

#include "base/strings.h"

namespace fm::base {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// Reads exactly `width` digits at `pos`; advances pos.
bool ReadDigits(std::string_view s, size_t& pos, size_t width, int& out) {
  if (pos + width > s.size()) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  pos += width;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

Result<Instant> Invalid(std::string_view text) {
  return MakeError(ErrorKind::kInvalidData, "not a FHIR instant: '" + Truncate(text, 40) + "'");
}

std::optional<sys_days> MakeDay(int y, int m, int d) {
  year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                     std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  return sys_days(ymd);
}

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<const char*, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

}  // namespace

Result<Instant> ParseInstant(std::string_view text, bool allow_partial) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, pos, 4, year)) return Invalid(text);
  if (pos == s.size()) {
    if (!allow_partial) return Invalid(text);
  } else {
    if (!Expect(s, pos, '-') || !ReadDigits(s, pos, 2, month)) return Invalid(text);
    if (pos < s.size()) {
      if (!Expect(s, pos, '-') || !ReadDigits(s, pos, 2, day)) return Invalid(text);
    } else if (!allow_partial) {
      return Invalid(text);
    }
  }
  auto date = MakeDay(year, month, day);
  if (!date) return Invalid(text);
  if (pos == s.size()) {
    if (!allow_partial) return Invalid(text);
    return Instant(*date);
  }
  if (!Expect(s, pos, 'T') || !ReadDigits(s, pos, 2, hour) || !Expect(s, pos, ':') ||
      !ReadDigits(s, pos, 2, minute) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, second)) {
    return Invalid(text);
  }
  if (hour > 23 || minute > 59 || second > 60) return Invalid(text);
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return Invalid(text);
  }
  int64_t offset_minutes = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!ReadDigits(s, pos, 2, oh) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, om)) {
      return Invalid(text);
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return Invalid(text);  // FHIR requires a zone on instants with a time
  }
  if (pos != s.size()) return Invalid(text);
  auto t = Instant(*date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
           std::chrono::seconds(second) + Millis(millis) - std::chrono::minutes(offset_minutes);
  return t;
}

std::string FormatInstant(Instant t) {
  auto day = std::chrono::floor<days>(t);
  year_month_day ymd{day};
  auto ms = (t - day).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(ms / 3600000), static_cast<int>(ms / 60000 % 60),
                static_cast<int>(ms / 1000 % 60), static_cast<int>(ms % 1000));
  return buf;
}

std::optional<Instant> ParseHttpDate(std::string_view text) {
  // IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::string_view s = Trim(text);
  if (s.size() != 29 || s[3] != ',' || s.substr(26) != "GMT") return std::nullopt;
  size_t pos = 5;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, pos, 2, day)) return std::nullopt;
  std::string_view mon = s.substr(8, 3);
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (mon == kMonths[i]) month = static_cast<int>(i) + 1;
  }
  pos = 12;
  if (month == 0 || !ReadDigits(s, pos, 4, year) || !Expect(s, pos, ' ') ||
      !ReadDigits(s, pos, 2, hour) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, minute) ||
      !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, second)) {
    return std::nullopt;
  }
  auto date = MakeDay(year, month, day);
  if (!date) return std::nullopt;
  return Instant(*date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

std::string FormatHttpDate(Instant t) {
  auto day = std::chrono::floor<days>(t);
  year_month_day ymd{day};
  std::chrono::weekday wd{day};
  auto secs = std::chrono::floor<std::chrono::seconds>(t - day).count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kWeekdays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

Result<Millis> ParseDuration(std::string_view text) {
  std::string_view s = Trim(text);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || value < 0) {
    return MakeError(ErrorKind::kInvalidData, "not a duration: '" + std::string(s) +
                                                  "' (use e.g. 30d, 12h, 5m, 90s, 250ms)");
  }
  std::string_view unit = s.substr(static_cast<size_t>(ptr - s.data()));
  int64_t factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  }
  if (factor != 0) {
    if (value > std::numeric_limits<int64_t>::max() / factor) {
      return MakeError(ErrorKind::kInvalidData, "duration '" + std::string(s) + "' is too long");
    }
    return Millis(value * factor);
  }
  return MakeError(ErrorKind::kInvalidData, "unknown duration unit '" + std::string(unit) +
                                                "' in '" + std::string(s) +
                                                "' (use d, h, m, s or ms)");
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  const std::array<std::pair<int64_t, const char*>, 4> units = {
      {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}};
  for (auto [size, name] : units) {
    if (s >= size) {
      out += std::to_string(s / size) + name;
      s %= size;
    }
  }
  return out;
}

}  // namespace fm::base
