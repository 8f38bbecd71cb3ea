#include "cli/progress_format.h"

#include <cmath>
#include <cstdio>

namespace fm::cli {

std::string GroupDigits(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

std::string FormatElapsed(base::Millis elapsed) {
  if (elapsed < base::Millis(60'000)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(elapsed.count()) / 1000.0);
    return buf;
  }
  return base::FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(elapsed));
}

std::string FormatRate(double per_second) {
  if (!(per_second > 0)) return "0/s";
  if (per_second < 10) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f/s", per_second);
    return buf;
  }
  return GroupDigits(std::llround(per_second)) + "/s";
}

double RatePerSecond(int64_t n, base::Millis elapsed) {
  if (elapsed.count() <= 0) return 0;
  return static_cast<double>(n) * 1000.0 / static_cast<double>(elapsed.count());
}

}  // namespace fm::cli
