#include "cli/log_sink.h"

#include "base/strings.h"
#include "cli/progress_format.h"

namespace fm::cli {

std::string WindowLabel(const store::Window& w) {
  return "#" + std::to_string(w.id) + " " + base::FormatInstant(w.since) + ".." +
         base::FormatInstant(w.till);
}

std::string LogSink::InFlight() {
  base::MutexLock lock(mu_);
  if (in_flight_.size() == 1) return in_flight_.begin()->second;
  std::string out;
  for (const auto& [id, label] : in_flight_) out += (out.empty() ? "#" : ",#") + std::to_string(id);
  return out;
}

std::string RunSummaryLine(const migrate::RunSummary& summary, base::Millis elapsed) {
  std::string watermark =
      summary.watermark ? base::FormatInstant(*summary.watermark) : std::string("none");
  return "run " + std::string(summary.interrupted ? "stopped after " : "finished in ") +
         FormatElapsed(elapsed) + ": " + std::to_string(summary.windows_loaded) +
         (summary.windows_loaded == 1 ? " window, " : " windows, ") +
         std::to_string(summary.resources_loaded) + " resources loaded (mean " +
         FormatRate(RatePerSecond(summary.resources_loaded, elapsed)) + "), " +
         std::to_string(summary.resources_failed) + " failed; watermark " + watermark;
}

void LogSink::OnWindowPlanned(const store::Window& w) {
  std::string counted =
      w.expected >= 0 ? " (" + std::to_string(w.expected) + " resources by the source's count)"
                      : "";
  log_.Write(LogLevel::kDebug,
             (w.status == store::WindowStatus::kLoaded ? "planned (empty)" : "planned") + counted,
             WindowLabel(w));
}

void LogSink::OnPlanned(const migrate::PlannedWork& work) {
  std::string text = "planned: " + std::to_string(work.windows) +
                     (work.windows == 1 ? " window" : " windows") + " to load, " +
                     std::to_string(work.resources) + " resources by the source's count";
  std::vector<std::string> types;
  for (const auto& [type, n] : work.by_type) {
    if (n > 0) types.push_back(type + " " + std::to_string(n));
  }
  if (!types.empty()) text += " (planned now: " + base::Join(types, ", ") + ")";
  log_.Write(work.windows > 0 ? LogLevel::kInfo : LogLevel::kDebug, text);
}

void LogSink::OnWindowStage(int64_t window_id, migrate::WindowStage stage, int64_t expected) {
  log_.Write(LogLevel::kDebug,
             std::string(migrate::WindowStageName(stage)) +
                 (expected >= 0 ? " (" + std::to_string(expected) + " resources expected)" : ""),
             "#" + std::to_string(window_id));
}

void LogSink::OnWindowStarted(const store::Window& w) {
  {
    base::MutexLock lock(mu_);
    in_flight_[w.id] = WindowLabel(w);
  }
  log_.Write(LogLevel::kDebug, "started (attempt " + std::to_string(w.attempts + 1) + ")",
             WindowLabel(w));
}

void LogSink::OnResourceFailed(const store::Failure& f) {
  log_.Write(LogLevel::kWarn,
             f.resource_type + "/" + f.resource_id + " rejected by the destination (" +
                 std::to_string(f.http_status) + "): " + f.reason,
             "#" + std::to_string(f.window_id));
}

void LogSink::OnWindowLoaded(const store::Window& w) {
  {
    base::MutexLock lock(mu_);
    in_flight_.erase(w.id);
  }
  // read: resources and deletions read from the source; loaded: those the
  // destination acknowledged; failed: those it refused; expected: the
  // source's count when the window was planned.
  log_.Write(LogLevel::kInfo,
             "window loaded: " + std::to_string(w.resources_extracted) + " read, " +
                 std::to_string(w.resources_loaded) + " loaded, " +
                 std::to_string(w.resources_failed) + " failed" +
                 (w.expected >= 0 ? " (" + std::to_string(w.expected) + " expected)" : ""),
             WindowLabel(w));
}

void LogSink::OnWindowFailed(const store::Window& w, const base::Error& e) {
  {
    base::MutexLock lock(mu_);
    in_flight_.erase(w.id);
  }
  log_.Write(LogLevel::kWarn, "attempt " + std::to_string(w.attempts) + " failed: " + e.ToString(),
             WindowLabel(w));
}

void LogSink::OnWatermark(base::Instant watermark) {
  log_.Write(LogLevel::kDebug, "watermark now " + base::FormatInstant(watermark));
}

void LogSink::OnHalted(const std::string& reason) {
  log_.Write(LogLevel::kError, "migration halted: " + reason, InFlight());
}

void LogSink::OnRetryScheduled(const std::string& what, base::Millis delay,
                               const std::string& reason) {
  log_.Write(LogLevel::kWarn,
             "retrying " + what + " in " + base::FormatDuration(delay) + ": " + reason, InFlight());
}

void LogSink::OnNote(const std::string& level, const std::string& message) {
  LogLevel l = level == "warn"    ? LogLevel::kWarn
               : level == "error" ? LogLevel::kError
               : level == "debug" ? LogLevel::kDebug
                                  : LogLevel::kInfo;
  log_.Write(l, message, InFlight());
}

void LogSink::OnIdle(base::Instant next_poll) {
  log_.Write(LogLevel::kDebug, "caught up; next poll at " + base::FormatInstant(next_poll));
}

}  // namespace fm::cli
