// Progress on the operator's terminal, from the engine's events. On a TTY:
// one overall bar plus one line per window in flight (stage, bar, counts),
// rate, ETA, retries and throttling, redrawn in place at most 10 times a
// second. Elsewhere (a pipe, a file, a CI log): one summary line every
// `summary_every`. Time is read from the clock given (a manual clock in
// tests). Thread-safe: events arrive from several threads.
//
// The figures (docs/operations.md):
// - read: resources and deletions read from the source; loaded: those the
//   destination acknowledged; failed: those it refused.
// - the plan: the source's count of what the run has to copy (OnPlanned).
//   Progress against it counts each window's loaded + failed up to that
//   window's expected count, so a window that holds more than was counted
//   (history versions, deletions) never pushes the whole past 100%.
// - rate: loaded + failed over the last 10 s; ETA: what is left of the plan
//   at that rate ("planning" while planning, "estimating" before the first
//   resource is loaded, "stalled" when nothing was loaded for 10 s).
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

#include "env/clock.h"
#include "migrate/progress.h"

namespace fm::cli {

struct TerminalOptions {
  bool tty = false;                       // bars (true) or summary lines
  std::chrono::milliseconds redraw{100};  // TTY: at most 10 redraws/s
  std::chrono::milliseconds summary_every{std::chrono::seconds(10)};
  int fd = 2;     // stderr
  int width = 0;  // 0: ask the terminal (else 100)
  // What a window does before the extractor says otherwise: kSearching for
  // search extraction, kExporting for bulk.
  migrate::WindowStage first_stage = migrate::WindowStage::kSearching;
};

class TerminalProgress : public migrate::ProgressSink {
 public:
  // `clock` must outlive this object.
  TerminalProgress(TerminalOptions options, env::Clock& clock);
  ~TerminalProgress() override;

  void Start();  // starts the redraw thread
  // Final draw (TTY) or final summary line, with the elapsed time and the
  // mean rate; idempotent.
  void Stop();

  // Around a log line on the same terminal: erase the bars, let the line
  // print, draw again (Log::SetWriteHooks).
  void BeforeLogLine();
  void AfterLogLine();

  void OnPlanStarted() override;
  void OnWindowPlanned(const store::Window& w) override;
  void OnPlanned(const migrate::PlannedWork& work) override;
  void OnWindowStarted(const store::Window& w) override;
  void OnWindowStage(int64_t window_id, migrate::WindowStage stage, int64_t expected) override;
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
  struct Active {
    std::string label;
    migrate::WindowStage stage = migrate::WindowStage::kSearching;
    int64_t read = 0, loaded = 0, failed = 0;
    int64_t planned = -1;   // Window::expected: its share of the plan
    int64_t expected = -1;  // the best count known (an export's manifest)
  };
  struct Sample {
    base::Instant at;
    int64_t done;  // loaded + failed
  };
  void Loop();
  void DrawLocked();   // requires mu_ and io_mu_
  void EraseLocked();  // requires io_mu_
  void Emit(const std::string& text);
  std::string RenderBarsLocked(int width);
  std::string RenderSummaryLocked();
  std::string PhaseLocked() const;
  void SampleLocked(base::Instant now);
  std::optional<double> RateLocked(base::Instant now) const;  // nullopt: too early to tell
  // What is left of the plan; nullopt when the plan is not known.
  std::optional<int64_t> RemainingLocked() const;
  std::string EtaLocked(base::Instant now) const;
  std::string PlanShareLocked() const;  // "60% of 20,004 resources", or ""
  std::string WindowLineLocked(const Active& a) const;
  std::string FinalLocked(base::Instant now) const;  // "done in 11.6s, mean 1,720/s"

  TerminalOptions options_;
  env::Clock& clock_;
  std::mutex mu_;     // everything below
  std::mutex io_mu_;  // the terminal
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ = false, stopped_ = false, dirty_ = true;
  int lines_drawn_ = 0;
  base::Instant begun_;
  base::Instant last_summary_;
  base::Instant last_draw_;
  std::map<int64_t, Active> active_;
  int64_t windows_total_ = 0, windows_loaded_ = 0, window_failures_ = 0;
  int64_t read_ = 0, loaded_ = 0, failed_ = 0;
  int64_t retries_ = 0, throttled_ = 0;
  std::string last_retry_;
  bool planning_ = false, started_ = false, halted_ = false, idle_ = false;
  std::string idle_text_;
  std::optional<base::Instant> watermark_;
  // The plan: the source's count of the windows not loaded when planning
  // last finished (plan_total_), less the planned counts of the windows
  // loaded since (plan_left_; nullopt when not known).
  std::optional<int64_t> plan_left_;
  int64_t plan_total_ = 0;
  // Where the ETA's mean rate starts: the plan's first window start.
  std::optional<Sample> eta_from_;
  std::deque<Sample> samples_;  // for the displayed rate
};

// "auto" → bars when `fd` is a terminal; "bars", "plain", "none".
std::optional<TerminalOptions> TerminalOptionsFor(const std::string& mode, int fd = 2);

}  // namespace fm::cli
