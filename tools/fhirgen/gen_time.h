// Internal: fast proleptic-Gregorian date/time formatting (UTC based).
#pragma once

#include <cstdint>
#include <string>

namespace fhirgen::detail {

inline constexpr int64_t kMsPerSecond = 1000;
inline constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
inline constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
inline constexpr int64_t kMsPerDay = 24 * kMsPerHour;
inline constexpr int64_t kMsPerYear = 31556952000;  // 365.2425 days

// Valid window for generator timestamps: [1800-01-01, 9000-01-01].
inline constexpr int64_t kMinSupportedMs = -5364662400000;
inline constexpr int64_t kMaxSupportedMs = 221845392000000;

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// Days since 1970-01-01 <-> civil date (H. Hinnant's algorithms).
CivilDate CivilFromDays(int64_t days);
int64_t DaysFromCivil(int64_t year, int month, int day);

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// "2021-03-04T05:06:07.123Z"
void AppendInstant(std::string& o, int64_t utc_ms);
// "2021-03-04" (UTC calendar date)
void AppendDate(std::string& o, int64_t utc_ms);
// Local wall-clock time at a fixed UTC offset, second precision:
// "2021-03-04T06:06:07+01:00" (or "...Z" when tz_minutes == 0).
void AppendDateTimeTz(std::string& o, int64_t utc_ms, int tz_minutes);

}  // namespace fhirgen::detail
