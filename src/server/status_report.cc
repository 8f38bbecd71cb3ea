#include "server/status_report.h"

#include <algorithm>
#include <cstdio>

#include "base/strings.h"

namespace fm::server {
namespace {

std::string OptInstant(const std::optional<base::Instant>& t) {
  return t ? JsonQuote(base::FormatInstant(*t)) : "null";
}

// Length of the union of the intervals, in seconds: windows in flight side
// by side count their common time once.
double BusySeconds(std::vector<std::pair<base::Instant, base::Instant>> spans) {
  std::sort(spans.begin(), spans.end());
  base::Millis total{0};
  std::optional<std::pair<base::Instant, base::Instant>> run;
  for (const auto& s : spans) {
    if (run && s.first <= run->second) {
      run->second = std::max(run->second, s.second);
      continue;
    }
    if (run) total += std::chrono::duration_cast<base::Millis>(run->second - run->first);
    run = s;
  }
  if (run) total += std::chrono::duration_cast<base::Millis>(run->second - run->first);
  return static_cast<double>(total.count()) / 1000.0;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

std::string JsonQuote(const std::string& text) { return "\"" + base::JsonEscape(text) + "\""; }

base::Result<StatusReport> GatherStatus(store::StateStore& store, base::Instant now,
                                        const StatusOptions& options) {
  StatusReport r;
  r.now = now;
  auto state = store.GetMigration();
  if (!state.ok()) return state.error();
  auto windows = store.ListWindows();
  if (!windows.ok()) return windows.error();
  auto totals = store.TotalCounts();
  if (!totals.ok()) return totals.error();
  auto failures = store.ListFailures(false, SIZE_MAX);
  if (!failures.ok()) return failures.error();
  auto count = store.CountFailures(false);
  if (!count.ok()) return count.error();
  auto last_check = store.LastCheck("");  // the newest check of any kind

  r.state = std::move(*state);
  if (r.state.watermark) {
    r.lag_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now - *r.state.watermark).count();
  }
  for (const char* s : {"planned", "extracting", "extracted", "loading", "loaded", "failed"}) {
    r.windows_by_state[s] = 0;
  }
  base::Instant since = now - options.throughput_span;
  std::vector<std::pair<base::Instant, base::Instant>> busy;  // [started_at, updated_at]
  for (const auto& w : *windows) {
    ++r.windows_by_state[store::WindowStatusName(w.status)];
    if (w.status == store::WindowStatus::kLoaded && w.updated_at >= since && w.updated_at <= now &&
        w.resources_extracted > 0 && w.started_at && *w.started_at <= w.updated_at) {
      ++r.throughput_windows;
      r.throughput_resources += w.resources_loaded;
      busy.emplace_back(*w.started_at, w.updated_at);
    }
  }
  r.throughput_span_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(options.throughput_span).count();
  r.throughput_busy_seconds = BusySeconds(busy);
  if (r.throughput_busy_seconds > 0) {
    r.resources_per_second =
        static_cast<double>(r.throughput_resources) / r.throughput_busy_seconds;
  }
  r.windows = std::move(*windows);
  if (r.windows.size() > options.max_windows) {
    r.windows.erase(r.windows.begin(),
                    r.windows.end() - static_cast<std::ptrdiff_t>(options.max_windows));
  }
  r.types = std::move(*totals);
  r.failures_unresolved = *count;
  for (const auto& f : *failures)
    ++r.failures_by_reason[std::to_string(f.http_status) + " " + f.reason];
  for (auto it = failures->rbegin();
       it != failures->rend() && r.recent_failures.size() < options.recent_failures; ++it) {
    r.recent_failures.push_back(*it);
  }
  if (last_check.ok() && *last_check) r.last_check = **last_check;
  return r;
}

std::string StatusJson(const StatusReport& r) {
  const auto& st = r.state;
  std::string out = "{\"schema\":" + JsonQuote(kStatusSchema);
  out += ",\"now\":" + JsonQuote(base::FormatInstant(r.now));
  out += ",\"start\":" + OptInstant(st.start);
  out += ",\"watermark\":" + OptInstant(st.watermark);
  out += ",\"lag_seconds\":" + (r.lag_seconds ? std::to_string(*r.lag_seconds) : "null");
  out += ",\"last_success_at\":" + OptInstant(st.last_success_at);
  out += ",\"halted\":" + std::string(st.halted ? "true" : "false");
  out += ",\"halt_reason\":" + (st.halted ? JsonQuote(st.halt_reason) : "null");
  out += ",\"windows\":{\"total\":" + std::to_string(r.windows_by_state.empty() ? 0 : [&] {
           int n = 0;
           for (const auto& [_, c] : r.windows_by_state) n += c;
           return n;
         }());
  for (const auto& [name, n] : r.windows_by_state) out += ",\"" + name + "\":" + std::to_string(n);
  out += "},\"types\":[";
  bool first = true;
  for (const auto& t : r.types) {
    out += std::string(first ? "" : ",") + "{\"type\":" + JsonQuote(t.resource_type) +
           ",\"extracted\":" + std::to_string(t.extracted) +
           ",\"loaded\":" + std::to_string(t.loaded) + ",\"failed\":" + std::to_string(t.failed) +
           "}";
    first = false;
  }
  out += "],\"failures\":{\"unresolved\":" + std::to_string(r.failures_unresolved) +
         ",\"by_reason\":[";
  first = true;
  for (const auto& [reason, n] : r.failures_by_reason) {
    out += std::string(first ? "" : ",") + "{\"reason\":" + JsonQuote(reason) +
           ",\"count\":" + std::to_string(n) + "}";
    first = false;
  }
  out += "],\"recent\":[";
  first = true;
  for (const auto& f : r.recent_failures) {
    out += std::string(first ? "" : ",") + "{\"window\":" + std::to_string(f.window_id) +
           ",\"stage\":" + JsonQuote(f.stage) + ",\"type\":" + JsonQuote(f.resource_type) +
           ",\"id\":" + JsonQuote(f.resource_id) +
           ",\"http_status\":" + std::to_string(f.http_status) +
           ",\"reason\":" + JsonQuote(f.reason) +
           ",\"at\":" + JsonQuote(base::FormatInstant(f.at)) + "}";
    first = false;
  }
  out += "]},\"last_check\":";
  if (r.last_check) {
    const auto& c = *r.last_check;
    out += "{\"kind\":" + JsonQuote(c.kind) + ",\"at\":" + JsonQuote(base::FormatInstant(c.at)) +
           ",\"passed\":" + (c.passed ? "true" : "false") + "}";
  } else {
    out += "null";
  }
  out += ",\"throughput\":{\"span_seconds\":" + std::to_string(r.throughput_span_seconds) +
         ",\"windows\":" + std::to_string(r.throughput_windows) +
         ",\"resources\":" + std::to_string(r.throughput_resources) +
         ",\"busy_seconds\":" + Num(r.throughput_busy_seconds) +
         ",\"resources_per_second\":" + Num(r.resources_per_second) + "}";
  out += ",\"timeline\":[";
  first = true;
  for (const auto& w : r.windows) {
    out += std::string(first ? "" : ",") + "{\"id\":" + std::to_string(w.id) +
           ",\"since\":" + JsonQuote(base::FormatInstant(w.since)) +
           ",\"till\":" + JsonQuote(base::FormatInstant(w.till)) +
           ",\"type\":" + (w.resource_type.empty() ? "null" : JsonQuote(w.resource_type)) +
           ",\"state\":" + JsonQuote(store::WindowStatusName(w.status)) +
           ",\"attempts\":" + std::to_string(w.attempts) +
           ",\"extracted\":" + std::to_string(w.resources_extracted) +
           ",\"loaded\":" + std::to_string(w.resources_loaded) +
           ",\"failed\":" + std::to_string(w.resources_failed) +
           ",\"updated_at\":" + JsonQuote(base::FormatInstant(w.updated_at)) + "}";
    first = false;
  }
  out += "]}\n";
  return out;
}

std::string StatusText(const StatusReport& r) {
  std::string out;
  char buf[512];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    out += buf;
  };
  const auto& st = r.state;
  out += "watermark:    " +
         (st.watermark ? base::FormatInstant(*st.watermark) : std::string("none yet"));
  if (r.lag_seconds)
    out += " (lag " + base::FormatDuration(base::Millis(*r.lag_seconds * 1000)) + ")";
  out += "\n";
  out += "last success: " +
         (st.last_success_at ? base::FormatInstant(*st.last_success_at) : std::string("never")) +
         "\n";
  if (st.halted) out += "HALTED:       " + st.halt_reason + "\n";
  int total = 0;
  for (const auto& [_, n] : r.windows_by_state) total += n;
  out += "windows:      " + std::to_string(total) + " (";
  bool first = true;
  for (const auto& [name, n] : r.windows_by_state) {
    if (!n) continue;
    out += std::string(first ? "" : ", ") + std::to_string(n) + " " + name;
    first = false;
  }
  out += ")\n";
  std::string span = base::FormatDuration(base::Millis(r.throughput_span_seconds * 1000));
  if (r.throughput_windows > 0) {
    line(
        "throughput:   %.1f resources/s (%lld resources in %.1fs of loading, %d %s loaded "
        "in the last %s)\n",
        r.resources_per_second, static_cast<long long>(r.throughput_resources),
        r.throughput_busy_seconds, r.throughput_windows,
        r.throughput_windows == 1 ? "window" : "windows", span.c_str());
  } else {
    line("throughput:   0 resources/s (no window loaded in the last %s)\n", span.c_str());
  }
  line("\n%-24s %12s %12s %10s\n", "type", "extracted", "loaded", "failed");
  int64_t e = 0, l = 0, f = 0;
  for (const auto& t : r.types) {
    line("%-24s %12lld %12lld %10lld\n", t.resource_type.c_str(),
         static_cast<long long>(t.extracted), static_cast<long long>(t.loaded),
         static_cast<long long>(t.failed));
    e += t.extracted, l += t.loaded, f += t.failed;
  }
  line("%-24s %12lld %12lld %10lld\n", "total", static_cast<long long>(e),
       static_cast<long long>(l), static_cast<long long>(f));
  line("\nfailures:     %lld unresolved\n", static_cast<long long>(r.failures_unresolved));
  for (const auto& [reason, n] : r.failures_by_reason) {
    line("  %6lld  %s\n", static_cast<long long>(n), reason.c_str());
  }
  if (r.last_check) {
    out += "last check:   " + r.last_check->kind + " at " + base::FormatInstant(r.last_check->at) +
           ": " + (r.last_check->passed ? "passed" : "FAILED") + "\n";
  } else {
    out += "last check:   none\n";
  }
  return out;
}

}  // namespace fm::server
