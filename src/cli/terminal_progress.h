// Progress on the operator's terminal, from the engine's events. On a TTY:
// one overall bar plus one line per window in flight (phase, bar, counts),
// rate, ETA, retries and throttling, redrawn in place at most 10 times a
// second. Elsewhere (a pipe, a file, a CI log): one summary line every
// `summary_every`. Thread-safe: events arrive from several threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "migrate/progress.h"

namespace fm::cli {

struct TerminalOptions {
  bool tty = false;                                   // bars (true) or summary lines
  std::chrono::milliseconds redraw{100};              // TTY: at most 10 redraws/s
  std::chrono::milliseconds summary_every{std::chrono::seconds(10)};
  int fd = 2;                                         // stderr
  int width = 0;                                      // 0: ask the terminal (else 100)
};

class TerminalProgress : public migrate::ProgressSink {
 public:
  explicit TerminalProgress(TerminalOptions options);
  ~TerminalProgress() override;

  void Start();  // starts the redraw thread
  void Stop();   // final draw (TTY) or final summary line; idempotent

  // Around a log line on the same terminal: erase the bars, let the line
  // print, draw again (Log::SetWriteHooks).
  void BeforeLogLine();
  void AfterLogLine();

  void OnWindowPlanned(const store::Window& w) override;
  void OnWindowStarted(const store::Window& w) override;
  void OnResourcesExtracted(int64_t window_id, const std::string& type, int64_t n) override;
  void OnBatchLoaded(const migrate::BatchEvent& e) override;
  void OnResourceFailed(const store::Failure& f) override;
  void OnWindowLoaded(const store::Window& w) override;
  void OnWindowFailed(const store::Window& w, const base::Error& e) override;
  void OnWatermark(base::Instant watermark) override;
  void OnHalted(const std::string& reason) override;
  void OnRetryScheduled(const std::string& what, base::Millis delay,
                        const std::string& reason) override;
  void OnIdle(base::Instant next_poll) override;

  // The text of the bars / of one summary line (for tests).
  std::string RenderBars(int width);
  std::string RenderSummary();

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Active {
    std::string label;
    int64_t extracted = 0, loaded = 0, failed = 0;
    SteadyTime started;
  };
  void Loop();
  void DrawLocked();   // requires mu_ and io_mu_
  void EraseLocked();  // requires io_mu_
  void Emit(const std::string& text);
  double RateLocked(SteadyTime now);
  std::string EtaLocked(SteadyTime now);

  TerminalOptions options_;
  std::mutex mu_;     // the counters
  std::mutex io_mu_;  // the terminal
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ = false, stopped_ = false, dirty_ = true;
  int lines_drawn_ = 0;
  SteadyTime begun_ = std::chrono::steady_clock::now();
  SteadyTime last_summary_ = begun_;
  std::map<int64_t, Active> active_;
  int64_t windows_planned_ = 0, windows_loaded_ = 0, window_failures_ = 0;
  int64_t extracted_ = 0, loaded_ = 0, failed_ = 0;
  int64_t retries_ = 0, throttled_ = 0;
  std::string last_retry_;
  std::string phase_ = "planning";
  std::optional<base::Instant> watermark_;
  std::deque<std::pair<SteadyTime, int64_t>> samples_;  // (time, loaded) for the rate
};

// "auto" → bars when `fd` is a terminal; "bars", "plain", "none".
std::optional<TerminalOptions> TerminalOptionsFor(const std::string& mode, int fd = 2);

}  // namespace fm::cli
