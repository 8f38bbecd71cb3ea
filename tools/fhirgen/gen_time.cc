#include "gen_time.h"

#include <stdexcept>
#include <string>
#include <string_view>

#include "gen_json.h"
#include "generator.h"

namespace fhirgen::detail {

CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                  // [0, 11]
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

// Writes "YYYY-MM-DD" into p (10 chars). Years are within [0, 9999].
char* WriteDate(char* p, const CivilDate& c) {
  int64_t y = c.year;
  p[3] = static_cast<char>('0' + y % 10); y /= 10;
  p[2] = static_cast<char>('0' + y % 10); y /= 10;
  p[1] = static_cast<char>('0' + y % 10); y /= 10;
  p[0] = static_cast<char>('0' + y % 10);
  p[4] = '-';
  p[5] = static_cast<char>('0' + c.month / 10);
  p[6] = static_cast<char>('0' + c.month % 10);
  p[7] = '-';
  p[8] = static_cast<char>('0' + c.day / 10);
  p[9] = static_cast<char>('0' + c.day % 10);
  return p + 10;
}

char* Write2(char* p, int64_t v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// Writes "YYYY-MM-DDThh:mm:ss" (19 chars); returns end and the ms remainder.
char* WriteDateTime(char* p, int64_t ms, int64_t* millis) {
  const int64_t days = FloorDiv(ms, kMsPerDay);
  int64_t rem = ms - days * kMsPerDay;
  p = WriteDate(p, CivilFromDays(days));
  *p++ = 'T';
  p = Write2(p, rem / kMsPerHour);
  rem %= kMsPerHour;
  *p++ = ':';
  p = Write2(p, rem / kMsPerMinute);
  rem %= kMsPerMinute;
  *p++ = ':';
  p = Write2(p, rem / kMsPerSecond);
  *millis = rem % kMsPerSecond;
  return p;
}

}  // namespace

void AppendInstant(std::string& o, int64_t utc_ms) {
  char buf[32];
  int64_t millis = 0;
  char* p = WriteDateTime(buf, utc_ms, &millis);
  *p++ = '.';
  *p++ = static_cast<char>('0' + millis / 100);
  *p++ = static_cast<char>('0' + millis / 10 % 10);
  *p++ = static_cast<char>('0' + millis % 10);
  *p++ = 'Z';
  o.append(buf, p);
}

void AppendDate(std::string& o, int64_t utc_ms) {
  char buf[16];
  char* p = WriteDate(buf, CivilFromDays(FloorDiv(utc_ms, kMsPerDay)));
  o.append(buf, p);
}

void AppendDateTimeTz(std::string& o, int64_t utc_ms, int tz_minutes) {
  char buf[40];
  int64_t millis = 0;
  char* p = WriteDateTime(buf, utc_ms + tz_minutes * kMsPerMinute, &millis);
  if (tz_minutes == 0) {
    *p++ = 'Z';
  } else {
    const int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;
    *p++ = tz_minutes < 0 ? '-' : '+';
    p = Write2(p, a / 60);
    *p++ = ':';
    p = Write2(p, a % 60);
  }
  o.append(buf, p);
}

}  // namespace fhirgen::detail

namespace fhirgen {
namespace {

[[noreturn]] void Bad(std::string_view text, const char* why) {
  throw std::invalid_argument("invalid timestamp '" + std::string(text) + "': " + why);
}

// Reads exactly n digits at text[pos], advancing pos.
int Digits(std::string_view text, size_t& pos, int n) {
  if (pos + static_cast<size_t>(n) > text.size()) Bad(text, "too short");
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[pos++];
    if (c < '0' || c > '9') Bad(text, "digit expected");
    v = v * 10 + (c - '0');
  }
  return v;
}

void Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) Bad(text, "unexpected character");
  ++pos;
}

}  // namespace

int64_t ParseTimestamp(std::string_view text) {
  using namespace detail;
  size_t pos = 0;
  const int y = Digits(text, pos, 4);
  Expect(text, pos, '-');
  const int mo = Digits(text, pos, 2);
  Expect(text, pos, '-');
  const int d = Digits(text, pos, 2);
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDaysIn[mo - 1]) Bad(text, "bad month/day");
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) Bad(text, "not a leap year");
  int64_t ms = DaysFromCivil(y, mo, d) * kMsPerDay;
  if (pos == text.size()) return ms;

  Expect(text, pos, 'T');
  const int hh = Digits(text, pos, 2);
  Expect(text, pos, ':');
  const int mi = Digits(text, pos, 2);
  Expect(text, pos, ':');
  const int ss = Digits(text, pos, 2);
  if (hh > 23 || mi > 59 || ss > 59) Bad(text, "bad time of day");
  ms += hh * kMsPerHour + mi * kMsPerMinute + ss * kMsPerSecond;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t frac = 0;
    int n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) frac = frac * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) Bad(text, "empty fraction");
    for (int i = n; i < 3; ++i) frac *= 10;
    ms += frac;  // digits beyond milliseconds are truncated
  }
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos++] == '-' ? -1 : 1;
    const int oh = Digits(text, pos, 2);
    Expect(text, pos, ':');
    const int om = Digits(text, pos, 2);
    if (oh > 14 || om > 59) Bad(text, "bad offset");
    ms -= sign * (oh * kMsPerHour + om * kMsPerMinute);
  } else {
    Bad(text, "time zone (Z or +hh:mm) required");
  }
  if (pos != text.size()) Bad(text, "trailing characters");
  return ms;
}

std::string FormatInstant(int64_t epoch_ms) {
  std::string s;
  detail::AppendInstant(s, epoch_ms);
  return s;
}

}  // namespace fhirgen
