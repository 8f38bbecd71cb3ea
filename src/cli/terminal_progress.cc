#include "cli/terminal_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cli/progress_format.h"

namespace fm::cli {
namespace {

constexpr base::Millis kRateSpan{10'000};     // the displayed rate: last 10 s
constexpr base::Millis kSampleEvery{100};     // samples closer than this are merged
constexpr base::Millis kMinRateSpan{500};     // no rate from less than this
constexpr base::Millis kRedrawAtLeast{1000};  // TTY: the ETA and rate age even without events

std::string Bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int full = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(static_cast<size_t>(full), '#') +
         std::string(static_cast<size_t>(width - full), '-') + "]";
}

std::string Fit(const std::string& line, int width) {
  return static_cast<int>(line.size()) > width ? line.substr(0, static_cast<size_t>(width)) : line;
}

bool Throttling(const std::string& reason) {
  return reason.find("429") != std::string::npos ||
         reason.find("Retry-After") != std::string::npos ||
         reason.find("server asked to wait") != std::string::npos ||
         reason.find("throttl") != std::string::npos;
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

std::optional<TerminalOptions> TerminalOptionsFor(const std::string& mode, int fd) {
  if (mode == "none") return std::nullopt;
  TerminalOptions o;
  o.fd = fd;
  o.tty = mode == "bars" || (mode == "auto" && ::isatty(fd));
  return o;
}

TerminalProgress::TerminalProgress(TerminalOptions options, env::Clock& clock)
    : options_(options), clock_(clock) {
  if (options_.width <= 0) {
    winsize ws{};
    options_.width = ::ioctl(options_.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
  }
  begun_ = last_summary_ = last_draw_ = clock_.Now();
}

TerminalProgress::~TerminalProgress() { Stop(); }

void TerminalProgress::Start() {
  base::MutexLock lock(mu_);
  if (running_ || stopped_) return;
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void TerminalProgress::Stop() {
  {
    base::MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  base::MutexLock io(io_mu_);
  base::MutexLock lock(mu_);
  if (options_.tty) {
    DrawLocked();
    lines_drawn_ = 0;  // the final bars stay on screen
  } else if (windows_total_ || loaded_ || read_) {
    Emit(RenderSummaryLocked() + "\n");
  }
}

void TerminalProgress::Loop() {
  base::MutexLock lock(mu_);
  while (!stopped_) {
    lock.WaitFor(cv_, options_.redraw);
    if (stopped_) break;
    base::Instant now = clock_.Now();
    if (options_.tty) {
      if (!dirty_ && now - last_draw_ < kRedrawAtLeast) continue;
      lock.Unlock();
      {
        base::MutexLock io(io_mu_);
        base::MutexLock again(mu_);
        DrawLocked();
        dirty_ = false;
        last_draw_ = now;
      }
      lock.Lock();
    } else if (now - last_summary_ >= options_.summary_every) {
      last_summary_ = now;
      lock.Unlock();
      {
        base::MutexLock io(io_mu_);
        std::string line = RenderSummary() + "\n";
        Emit(line);
      }
      lock.Lock();
    }
  }
}

void TerminalProgress::Emit(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(options_.fd, text.data() + off, text.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void TerminalProgress::EraseLocked() {
  if (lines_drawn_ > 0) {
    Emit("\x1b[" + std::to_string(lines_drawn_) + "A\r\x1b[J");
    lines_drawn_ = 0;
  }
}

void TerminalProgress::DrawLocked() {
  std::string text = RenderBarsLocked(options_.width - 1);
  std::string out;
  if (lines_drawn_ > 0) out = "\x1b[" + std::to_string(lines_drawn_) + "A\r\x1b[J";
  out += text;
  lines_drawn_ = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  Emit(out);
}

void TerminalProgress::BeforeLogLine() {
  io_mu_.lock();
  if (options_.tty) EraseLocked();
}

void TerminalProgress::AfterLogLine() {
  if (options_.tty) {
    base::MutexLock lock(mu_);
    if (running_ && !stopped_) DrawLocked();
  }
  io_mu_.unlock();
}

// ---- figures ---------------------------------------------------------------------------------

void TerminalProgress::SampleLocked(base::Instant now) {
  int64_t done = loaded_ + failed_;
  if (samples_.size() >= 2 && now - samples_[samples_.size() - 2].at < kSampleEvery) {
    samples_.back() = {now, done};
  } else {
    samples_.push_back({now, done});
  }
  while (samples_.size() >= 2 && samples_[1].at <= now - kRateSpan) samples_.pop_front();
}

std::optional<double> TerminalProgress::RateLocked(base::Instant now) const {
  if (samples_.empty()) return std::nullopt;
  // From the newest sample at least kRateSpan old, else the oldest one.
  const Sample* from = &samples_.front();
  for (const auto& s : samples_) {
    if (s.at > now - kRateSpan) break;
    from = &s;
  }
  auto span = std::chrono::duration_cast<base::Millis>(now - from->at);
  if (span < kMinRateSpan) return std::nullopt;
  return RatePerSecond(loaded_ + failed_ - from->done, span);
}

std::optional<int64_t> TerminalProgress::RemainingLocked() const {
  if (!plan_left_) return std::nullopt;
  int64_t left = *plan_left_;
  for (const auto& [id, a] : active_) {
    if (a.planned > 0) left -= std::min(a.loaded + a.failed, a.planned);
  }
  return std::max<int64_t>(left, 0);
}

std::string TerminalProgress::EtaLocked(base::Instant now) const {
  if (planning_) return "planning";
  if (halted_) return "halted";
  if (idle_) return "caught up";
  if (windows_total_ > 0 && windows_loaded_ >= windows_total_ && active_.empty()) return "done";
  auto left = RemainingLocked();
  if (!left || !eta_from_) return "estimating";
  if (*left == 0) return "finishing";
  // The mean rate since the plan's first window started: an export's wait
  // and the loads between belong to the estimate alike.
  auto span = std::chrono::duration_cast<base::Millis>(now - eta_from_->at);
  int64_t done = loaded_ + failed_ - eta_from_->done;
  if (done <= 0 || span < base::Millis(1000)) return "estimating";
  double rate = RatePerSecond(done, span);
  auto seconds = static_cast<int64_t>(std::ceil(static_cast<double>(*left) / rate));
  return base::FormatDuration(base::Millis(std::max<int64_t>(seconds, 1) * 1000));
}

std::string TerminalProgress::PlanShareLocked() const {
  auto left = RemainingLocked();
  if (!left || plan_total_ <= 0) return "";
  int64_t done = std::max<int64_t>(plan_total_ - *left, 0);
  auto percent =
      static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(plan_total_));
  return std::to_string(percent) + "% of " + GroupDigits(plan_total_) + " resources";
}

std::string TerminalProgress::FinalLocked(base::Instant now) const {
  auto elapsed = std::chrono::duration_cast<base::Millis>(now - begun_);
  bool done = windows_loaded_ >= windows_total_ && active_.empty();
  std::string how = halted_ ? "HALTED after " : done ? "done in " : "stopped after ";
  return how + FormatElapsed(elapsed) + ", mean " + FormatRate(RatePerSecond(loaded_, elapsed));
}

std::string TerminalProgress::WindowLineLocked(const Active& a) const {
  // Loaded against what the window is expected to hold; what was read counts
  // when it is more (history versions, deletions), so the bar never passes
  // its end and the figures never read "more loaded than there are".
  int64_t done = a.loaded + a.failed;
  int64_t of = std::max(a.expected, a.read);
  double fraction = of > 0 ? static_cast<double>(done) / static_cast<double>(of) : 0.0;
  std::string counts = GroupDigits(a.loaded) + "/" + (of >= 0 ? GroupDigits(of) : "?");
  if (a.expected < 0)
    counts = GroupDigits(a.loaded) + " loaded of " + GroupDigits(a.read) + " read";
  return "  " + a.label + "  " + Pad(migrate::WindowStageName(a.stage), 11) + " " +
         Bar(fraction, 20) + " " + counts +
         (a.failed ? "  " + GroupDigits(a.failed) + " failed" : "");
}

std::string TerminalProgress::RenderBars(int width) {
  base::MutexLock lock(mu_);
  return RenderBarsLocked(width);
}

std::string TerminalProgress::RenderBarsLocked(int width) {
  base::Instant now = clock_.Now();
  std::string share = PlanShareLocked();
  double fraction = 0;
  if (auto left = RemainingLocked(); left && plan_total_ > 0) {
    fraction = 1.0 - static_cast<double>(*left) / static_cast<double>(plan_total_);
  } else if (windows_total_ > 0) {
    fraction = static_cast<double>(windows_loaded_) / static_cast<double>(windows_total_);
  }
  std::string head = Bar(fraction, 24) + " " + std::to_string(windows_loaded_) + "/" +
                     std::to_string(windows_total_) + " windows";
  if (!share.empty()) head += "  " + share;
  if (stopped_) {
    head += "  " + FinalLocked(now);
  } else {
    auto rate = RateLocked(now);
    head += "  " + (rate ? FormatRate(*rate) : std::string("--/s")) + "  ETA " + EtaLocked(now);
  }
  std::string out = Fit(head, width) + "\n";
  std::string second = "  " + PhaseLocked() + "  " + GroupDigits(loaded_) + " loaded, " +
                       GroupDigits(failed_) + " failed, " + GroupDigits(read_) + " read  retries " +
                       std::to_string(retries_) + " (throttled " + std::to_string(throttled_) + ")";
  if (watermark_) second += "  watermark " + base::FormatInstant(*watermark_);
  if (!last_retry_.empty()) second += "  last retry: " + last_retry_;
  out += Fit(second, width) + "\n";
  int shown = 0;
  for (const auto& [id, a] : active_) {
    if (++shown > 8) {
      out += "  ... " + std::to_string(active_.size() - 8) + " more windows in flight\n";
      break;
    }
    out += Fit(WindowLineLocked(a), width) + "\n";
  }
  return out;
}

std::string TerminalProgress::PhaseLocked() const {
  if (halted_) return "HALTED";
  if (stopped_) return windows_loaded_ >= windows_total_ && active_.empty() ? "done" : "stopped";
  if (planning_) return "planning";
  if (idle_) return idle_text_;
  return started_ ? "migrating" : "starting";
}

std::string TerminalProgress::RenderSummary() {
  base::MutexLock lock(mu_);
  return RenderSummaryLocked();
}

std::string TerminalProgress::RenderSummaryLocked() {
  base::Instant now = clock_.Now();
  std::string s = "progress: " + PhaseLocked() + ", " + std::to_string(windows_loaded_) + "/" +
                  std::to_string(windows_total_) + " windows loaded, " +
                  std::to_string(active_.size()) + " in flight";
  if (std::string share = PlanShareLocked(); !share.empty()) s += ", " + share;
  s += ", " + GroupDigits(loaded_) + " loaded, " + GroupDigits(failed_) + " failed, " +
       GroupDigits(read_) + " read";
  if (stopped_) {
    s += ", " + FinalLocked(now);
  } else {
    auto rate = RateLocked(now);
    s += ", " + (rate ? FormatRate(*rate) : std::string("--/s")) + ", ETA " + EtaLocked(now);
  }
  s += ", " + std::to_string(retries_) + " retries (" + std::to_string(throttled_) + " throttled)";
  if (watermark_) s += ", watermark " + base::FormatInstant(*watermark_);
  return s;
}

// ---- events ----------------------------------------------------------------------------------

#define FM_LOCKED            \
  base::MutexLock lock(mu_); \
  dirty_ = true

void TerminalProgress::OnPlanStarted() {
  FM_LOCKED;
  planning_ = true;
}
void TerminalProgress::OnWindowPlanned(const store::Window& w) {
  FM_LOCKED;
  // An empty window is loaded when planned: nothing to load, not counted
  // (the run's last log line counts the windows it loaded the same way).
  if (w.status != store::WindowStatus::kLoaded) ++windows_total_;
}
void TerminalProgress::OnPlanned(const migrate::PlannedWork& work) {
  FM_LOCKED;
  planning_ = false;
  windows_total_ = windows_loaded_ + work.windows;
  // Windows with no count (planned by an older version) leave the plan unknown.
  if (work.windows > 0 && work.resources == 0) {
    plan_left_.reset();
  } else {
    plan_left_ = work.resources;
  }
  plan_total_ = work.resources;
  eta_from_.reset();
  if (!active_.empty()) eta_from_ = Sample{clock_.Now(), loaded_ + failed_};
}
void TerminalProgress::OnWindowStarted(const store::Window& w) {
  FM_LOCKED;
  started_ = true;
  idle_ = false;
  base::Instant now = clock_.Now();
  if (!eta_from_) eta_from_ = Sample{now, loaded_ + failed_};
  SampleLocked(now);
  Active a;
  a.label = "#" + std::to_string(w.id) + " " + base::FormatInstant(w.since).substr(0, 10) + ".." +
            base::FormatInstant(w.till).substr(0, 10) +
            (w.resource_type.empty() ? "" : " " + w.resource_type);
  a.stage = options_.first_stage;
  a.planned = w.expected;
  a.expected = w.expected;
  active_[w.id] = a;
}
void TerminalProgress::OnWindowStage(int64_t window_id, migrate::WindowStage stage,
                                     int64_t expected) {
  FM_LOCKED;
  auto it = active_.find(window_id);
  if (it == active_.end()) return;
  it->second.stage = stage;
  if (expected >= 0) it->second.expected = expected;
}
void TerminalProgress::OnResourcesExtracted(int64_t window_id, const std::string&, int64_t n) {
  FM_LOCKED;
  read_ += n;
  if (auto it = active_.find(window_id); it != active_.end()) it->second.read += n;
}
void TerminalProgress::OnBatchLoaded(const migrate::BatchEvent& e) {
  FM_LOCKED;
  loaded_ += e.loaded;
  if (auto it = active_.find(e.window_id); it != active_.end()) {
    Active& a = it->second;
    a.loaded += e.loaded;
    // Search windows read and load together: "loading" once the first
    // resources are on the destination.
    if (a.stage == migrate::WindowStage::kSearching && e.loaded > 0) {
      a.stage = migrate::WindowStage::kLoading;
    }
  }
  SampleLocked(clock_.Now());
}
void TerminalProgress::OnResourceFailed(const store::Failure& f) {
  FM_LOCKED;
  ++failed_;
  if (auto it = active_.find(f.window_id); it != active_.end()) ++it->second.failed;
}
void TerminalProgress::OnWindowLoaded(const store::Window& w) {
  FM_LOCKED;
  auto it = active_.find(w.id);
  if (it != active_.end()) {
    // The window's own totals are the truth: resync what the events missed.
    read_ += std::max<int64_t>(w.resources_extracted - it->second.read, 0);
    active_.erase(it);
  }
  ++windows_loaded_;
  int64_t planned = std::max<int64_t>(w.expected, 0);
  if (plan_left_) plan_left_ = std::max<int64_t>(*plan_left_ - planned, 0);
}
void TerminalProgress::OnWindowFailed(const store::Window& w, const base::Error&) {
  FM_LOCKED;
  active_.erase(w.id);
  ++window_failures_;
}
void TerminalProgress::OnWatermark(base::Instant watermark) {
  FM_LOCKED;
  watermark_ = watermark;
}
void TerminalProgress::OnHalted(const std::string&) {
  FM_LOCKED;
  halted_ = true;
}
void TerminalProgress::OnRetryScheduled(const std::string&, base::Millis delay,
                                        const std::string& reason) {
  FM_LOCKED;
  ++retries_;
  if (Throttling(reason)) ++throttled_;
  last_retry_ = reason.substr(0, 60) + " (" + base::FormatDuration(delay) + ")";
}
void TerminalProgress::OnIdle(base::Instant next_poll) {
  FM_LOCKED;
  idle_ = true;
  idle_text_ = "caught up, next poll " + base::FormatInstant(next_poll);
}

#undef FM_LOCKED

}  // namespace fm::cli
