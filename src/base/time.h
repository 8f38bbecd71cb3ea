// Instants and durations. FHIR instants are kept with millisecond precision,
// which is what servers index `meta.lastUpdated` with in practice.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace fm::base {

using Millis = std::chrono::milliseconds;
using Instant = std::chrono::sys_time<Millis>;

inline Instant FromEpochMillis(int64_t ms) { return Instant(Millis(ms)); }
inline int64_t ToEpochMillis(Instant t) { return t.time_since_epoch().count(); }

// Parses a FHIR instant or dateTime: "2021-03-04T05:06:07.123Z", "+02:00"
// offsets, fractional seconds of any length (truncated to ms), and, when
// `allow_partial`, "2021", "2021-03" and "2021-03-04" (start of that period, UTC).
Result<Instant> ParseInstant(std::string_view text, bool allow_partial = true);

// "2021-03-04T05:06:07.123Z": always UTC, always milliseconds.
std::string FormatInstant(Instant t);

// RFC 7231 HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT"), the form used by Retry-After.
std::optional<Instant> ParseHttpDate(std::string_view text);
std::string FormatHttpDate(Instant t);

// "30d", "12h", "5m", "90s", "250ms", or a bare number of seconds.
Result<Millis> ParseDuration(std::string_view text);
std::string FormatDuration(Millis d);  // "1d2h3m4s" style, "0s" for zero

}  // namespace fm::base
