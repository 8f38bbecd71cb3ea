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
#include <optional>
#include <string>
#include <thread>

#include "base/mutex.h"
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
  void BeforeLogLine() FM_ACQUIRE(io_mu_);
  void AfterLogLine() FM_RELEASE(io_mu_);

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
  std::string RenderBars(int width) FM_EXCLUDES(mu_);
  std::string RenderSummary() FM_EXCLUDES(mu_);

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
  void DrawLocked() FM_REQUIRES(io_mu_, mu_);
  void EraseLocked() FM_REQUIRES(io_mu_);
  void Emit(const std::string& text);
  std::string RenderBarsLocked(int width) FM_REQUIRES(mu_);
  std::string RenderSummaryLocked() FM_REQUIRES(mu_);
  std::string PhaseLocked() const FM_REQUIRES(mu_);
  void SampleLocked(base::Instant now) FM_REQUIRES(mu_);
  std::optional<double> RateLocked(base::Instant now) const
      FM_REQUIRES(mu_);  // nullopt: too early to tell
  // What is left of the plan; nullopt when the plan is not known.
  std::optional<int64_t> RemainingLocked() const FM_REQUIRES(mu_);
  std::string EtaLocked(base::Instant now) const FM_REQUIRES(mu_);
  std::string PlanShareLocked() const FM_REQUIRES(mu_);  // "60% of 20,004 resources", or ""
  std::string WindowLineLocked(const Active& a) const FM_REQUIRES(mu_);
  std::string FinalLocked(base::Instant now) const
      FM_REQUIRES(mu_);  // "done in 11.6s, mean 1,720/s"

  TerminalOptions options_;
  env::Clock& clock_;
  // Taken in this order when both are needed.
  base::Mutex io_mu_ FM_ACQUIRED_BEFORE(mu_);  // the terminal
  base::Mutex mu_;                             // everything below
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ FM_GUARDED_BY(mu_) = false;
  bool stopped_ FM_GUARDED_BY(mu_) = false;
  bool dirty_ FM_GUARDED_BY(mu_) = true;
  int lines_drawn_ FM_GUARDED_BY(io_mu_) = 0;
  base::Instant begun_;
  base::Instant last_summary_ FM_GUARDED_BY(mu_);
  base::Instant last_draw_ FM_GUARDED_BY(mu_);
  std::map<int64_t, Active> active_ FM_GUARDED_BY(mu_);
  int64_t windows_total_ FM_GUARDED_BY(mu_) = 0;
  int64_t windows_loaded_ FM_GUARDED_BY(mu_) = 0;
  int64_t window_failures_ FM_GUARDED_BY(mu_) = 0;
  int64_t read_ FM_GUARDED_BY(mu_) = 0;
  int64_t loaded_ FM_GUARDED_BY(mu_) = 0;
  int64_t failed_ FM_GUARDED_BY(mu_) = 0;
  int64_t retries_ FM_GUARDED_BY(mu_) = 0;
  int64_t throttled_ FM_GUARDED_BY(mu_) = 0;
  std::string last_retry_ FM_GUARDED_BY(mu_);
  bool planning_ FM_GUARDED_BY(mu_) = false;
  bool started_ FM_GUARDED_BY(mu_) = false;
  bool halted_ FM_GUARDED_BY(mu_) = false;
  bool idle_ FM_GUARDED_BY(mu_) = false;
  std::string idle_text_ FM_GUARDED_BY(mu_);
  std::optional<base::Instant> watermark_ FM_GUARDED_BY(mu_);
  // The plan: the source's count of the windows not loaded when planning
  // last finished (plan_total_), less the planned counts of the windows
  // loaded since (plan_left_; nullopt when not known).
  std::optional<int64_t> plan_left_ FM_GUARDED_BY(mu_);
  int64_t plan_total_ FM_GUARDED_BY(mu_) = 0;
  // Where the ETA's mean rate starts: the plan's first window start.
  std::optional<Sample> eta_from_ FM_GUARDED_BY(mu_);
  std::deque<Sample> samples_ FM_GUARDED_BY(mu_);  // for the displayed rate
};

// "auto" → bars when `fd` is a terminal; "bars", "plain", "none".
std::optional<TerminalOptions> TerminalOptionsFor(const std::string& mode, int fd = 2);

}  // namespace fm::cli
