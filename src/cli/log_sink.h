// Progress events as log lines.
#pragma once

#include <map>

#include "base/mutex.h"
#include "cli/log.h"
#include "migrate/progress.h"
#include "migrate/runner.h"

namespace fm::cli {

class LogSink : public migrate::ProgressSink {
 public:
  explicit LogSink(Log& log) : log_(log) {}
  void OnWindowPlanned(const store::Window& w) override;
  void OnPlanned(const migrate::PlannedWork& work) override;
  void OnWindowStarted(const store::Window& w) override;
  void OnWindowStage(int64_t window_id, migrate::WindowStage stage, int64_t expected) override;
  void OnResourceFailed(const store::Failure& f) override;
  void OnWindowLoaded(const store::Window& w) override;
  void OnWindowFailed(const store::Window& w, const base::Error& e) override;
  void OnWatermark(base::Instant watermark) override;
  void OnHalted(const std::string& reason) override;
  void OnRetryScheduled(const std::string& what, base::Millis delay,
                        const std::string& reason) override;
  void OnNote(const std::string& level, const std::string& message) override;
  void OnIdle(base::Instant next_poll) override;

 private:
  // Events that name no window (retries, notes) are labelled with the
  // windows in flight when they happen ("#3" or "#3,#4").
  std::string InFlight() FM_EXCLUDES(mu_);
  Log& log_;
  base::Mutex mu_;
  std::map<int64_t, std::string> in_flight_ FM_GUARDED_BY(mu_);
};

std::string WindowLabel(const store::Window& w);

// The run's last log line: how it ended, in how long, at what mean rate.
// "run finished in 11.6s: 10 windows, 20004 resources loaded (mean 1,720/s),
// 0 failed; watermark 2024-...".
std::string RunSummaryLine(const migrate::RunSummary& summary, base::Millis elapsed);

}  // namespace fm::cli
