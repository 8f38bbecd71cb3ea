#include "cli/log_sink.h"

namespace fm::cli {

std::string WindowLabel(const store::Window& w) {
  return "#" + std::to_string(w.id) + " " + base::FormatInstant(w.since) + ".." +
         base::FormatInstant(w.till);
}

std::string LogSink::InFlight() {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_flight_.size() == 1) return in_flight_.begin()->second;
  std::string out;
  for (const auto& [id, label] : in_flight_) out += (out.empty() ? "#" : ",#") + std::to_string(id);
  return out;
}

void LogSink::OnWindowPlanned(const store::Window& w) {
  log_.Write(LogLevel::kDebug,
             w.status == store::WindowStatus::kLoaded ? "planned (empty)" : "planned",
             WindowLabel(w));
}

void LogSink::OnWindowStarted(const store::Window& w) {
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(w.id);
  }
  log_.Write(LogLevel::kInfo,
             "loaded " + std::to_string(w.resources_loaded) + " of " +
                 std::to_string(w.resources_extracted) + " resources" +
                 (w.resources_failed ? ", " + std::to_string(w.resources_failed) + " failed" : ""),
             WindowLabel(w));
}

void LogSink::OnWindowFailed(const store::Window& w, const base::Error& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(w.id);
  }
  log_.Write(LogLevel::kWarn,
             "attempt " + std::to_string(w.attempts) + " failed: " + e.ToString(), WindowLabel(w));
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
