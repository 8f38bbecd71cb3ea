// How progress figures read on the terminal and in the log, in one place so
// the bars, the summary lines and the final log line agree.
#pragma once

#include <cstdint>
#include <string>

#include "base/time.h"

namespace fm::cli {

// 20004 → "20,004".
std::string GroupDigits(int64_t n);

// "11.6s" under a minute, then "2m5s", "1h2m3s".
std::string FormatElapsed(base::Millis elapsed);

// Resources per second: "1,720/s", "9.5/s", "0/s".
std::string FormatRate(double per_second);

// `n` resources over `elapsed`, per second (0 when no time has passed).
double RatePerSecond(int64_t n, base::Millis elapsed);

}  // namespace fm::cli
