#include "cli/terminal_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace fm::cli {
namespace {

std::string Bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  int full = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(static_cast<size_t>(full), '#') +
         std::string(static_cast<size_t>(width - full), '-') + "]";
}

std::string Count(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Fit(const std::string& line, int width) {
  return static_cast<int>(line.size()) > width ? line.substr(0, static_cast<size_t>(width)) : line;
}

bool Throttling(const std::string& reason) {
  return reason.find("429") != std::string::npos || reason.find("Retry-After") != std::string::npos ||
         reason.find("server asked to wait") != std::string::npos ||
         reason.find("throttl") != std::string::npos;
}

}  // namespace

std::optional<TerminalOptions> TerminalOptionsFor(const std::string& mode, int fd) {
  if (mode == "none") return std::nullopt;
  TerminalOptions o;
  o.fd = fd;
  o.tty = mode == "bars" || (mode == "auto" && ::isatty(fd));
  return o;
}

TerminalProgress::TerminalProgress(TerminalOptions options) : options_(options) {
  if (options_.width <= 0) {
    winsize ws{};
    options_.width = ::ioctl(options_.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
  }
}

TerminalProgress::~TerminalProgress() { Stop(); }

void TerminalProgress::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_ || stopped_) return;
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void TerminalProgress::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> io(io_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.tty) {
    DrawLocked();
    lines_drawn_ = 0;  // the final bars stay on screen
  } else if (windows_planned_ || loaded_ || extracted_) {
    Emit(RenderSummary() + "\n");
  }
}

void TerminalProgress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_) {
    cv_.wait_for(lock, options_.redraw);
    if (stopped_) break;
    auto now = std::chrono::steady_clock::now();
    samples_.emplace_back(now, loaded_);
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(10)) {
      samples_.pop_front();
    }
    if (options_.tty) {
      if (!dirty_) continue;
      lock.unlock();
      {
        std::lock_guard<std::mutex> io(io_mu_);
        std::lock_guard<std::mutex> again(mu_);
        DrawLocked();
        dirty_ = false;
      }
      lock.lock();
    } else if (now - last_summary_ >= options_.summary_every) {
      last_summary_ = now;
      std::string line = RenderSummary() + "\n";
      lock.unlock();
      {
        std::lock_guard<std::mutex> io(io_mu_);
        Emit(line);
      }
      lock.lock();
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
  std::string text = RenderBars(options_.width - 1);
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
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ && !stopped_) DrawLocked();
  }
  io_mu_.unlock();
}

double TerminalProgress::RateLocked(SteadyTime now) {
  if (samples_.empty()) {
    double secs = std::chrono::duration<double>(now - begun_).count();
    return secs > 0.5 ? static_cast<double>(loaded_) / secs : 0.0;
  }
  double secs = std::chrono::duration<double>(now - samples_.front().first).count();
  return secs > 0.5 ? static_cast<double>(loaded_ - samples_.front().second) / secs : 0.0;
}

std::string TerminalProgress::EtaLocked(SteadyTime now) {
  int64_t remaining = windows_planned_ - windows_loaded_;
  if (remaining <= 0 || windows_loaded_ == 0) return remaining <= 0 && windows_planned_ ? "done" : "--";
  double per_window = std::chrono::duration<double>(now - begun_).count() / static_cast<double>(windows_loaded_);
  return base::FormatDuration(base::Millis(static_cast<int64_t>(per_window * static_cast<double>(remaining) * 1000)));
}

std::string TerminalProgress::RenderBars(int width) {
  auto now = std::chrono::steady_clock::now();
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.0f/s", RateLocked(now));
  double fraction = windows_planned_ ? static_cast<double>(windows_loaded_) / static_cast<double>(windows_planned_) : 0.0;
  std::string head = "fhir-migrate " + Bar(fraction, 24) + " " + std::to_string(windows_loaded_) + "/" +
                     std::to_string(windows_planned_) + " windows  " + Count(loaded_) + " loaded  " +
                     Count(failed_) + " failed  " + rate + "  ETA " + EtaLocked(now);
  std::string out = Fit(head, width) + "\n";
  std::string second = "  " + phase_ + "  retries " + std::to_string(retries_) + " (throttled " +
                       std::to_string(throttled_) + ")";
  if (watermark_) second += "  watermark " + base::FormatInstant(*watermark_);
  if (!last_retry_.empty()) second += "  last retry: " + last_retry_;
  out += Fit(second, width) + "\n";
  int shown = 0;
  for (const auto& [id, a] : active_) {
    if (++shown > 8) {
      out += "  ... " + std::to_string(active_.size() - 8) + " more windows in flight\n";
      break;
    }
    const char* phase = a.loaded + a.failed == 0 ? "exporting" : "loading  ";
    double f = a.extracted ? static_cast<double>(a.loaded + a.failed) / static_cast<double>(a.extracted) : 0.0;
    out += Fit("  " + a.label + "  " + phase + " " + Bar(f, 20) + " " + Count(a.loaded) + "/" +
                   Count(a.extracted) + (a.failed ? "  " + Count(a.failed) + " failed" : ""),
               width) +
           "\n";
  }
  return out;
}

std::string TerminalProgress::RenderSummary() {
  auto now = std::chrono::steady_clock::now();
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f/s", RateLocked(now));
  std::string s = "progress: " + phase_ + ", " + std::to_string(windows_loaded_) + "/" +
                  std::to_string(windows_planned_) + " windows loaded, " + std::to_string(active_.size()) +
                  " in flight, " + std::to_string(extracted_) + " resources read, " +
                  std::to_string(loaded_) + " loaded (" + rate + "), " + std::to_string(failed_) +
                  " failed, " + std::to_string(retries_) + " retries (" + std::to_string(throttled_) +
                  " throttled), ETA " + EtaLocked(now);
  if (watermark_) s += ", watermark " + base::FormatInstant(*watermark_);
  return s;
}

#define FM_LOCKED std::lock_guard<std::mutex> lock(mu_); dirty_ = true

void TerminalProgress::OnWindowPlanned(const store::Window& w) {
  FM_LOCKED;
  ++windows_planned_;
  if (w.status == store::WindowStatus::kLoaded) ++windows_loaded_;  // planned empty
}
void TerminalProgress::OnWindowStarted(const store::Window& w) {
  FM_LOCKED;
  phase_ = "migrating";
  Active a;
  a.label = "#" + std::to_string(w.id) + " " + base::FormatInstant(w.since).substr(0, 10) + ".." +
            base::FormatInstant(w.till).substr(0, 10) + (w.resource_type.empty() ? "" : " " + w.resource_type);
  a.started = std::chrono::steady_clock::now();
  active_[w.id] = a;
}
void TerminalProgress::OnResourcesExtracted(int64_t window_id, const std::string&, int64_t n) {
  FM_LOCKED;
  extracted_ += n;
  if (auto it = active_.find(window_id); it != active_.end()) it->second.extracted += n;
}
void TerminalProgress::OnBatchLoaded(const migrate::BatchEvent& e) {
  FM_LOCKED;
  loaded_ += e.loaded;
  if (auto it = active_.find(e.window_id); it != active_.end()) it->second.loaded += e.loaded;
}
void TerminalProgress::OnResourceFailed(const store::Failure& f) {
  FM_LOCKED;
  ++failed_;
  if (auto it = active_.find(f.window_id); it != active_.end()) ++it->second.failed;
}
void TerminalProgress::OnWindowLoaded(const store::Window& w) {
  FM_LOCKED;
  active_.erase(w.id);
  ++windows_loaded_;
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
  phase_ = "HALTED";
}
void TerminalProgress::OnRetryScheduled(const std::string&, base::Millis delay, const std::string& reason) {
  FM_LOCKED;
  ++retries_;
  if (Throttling(reason)) ++throttled_;
  last_retry_ = reason.substr(0, 60) + " (" + base::FormatDuration(delay) + ")";
}
void TerminalProgress::OnIdle(base::Instant next_poll) {
  FM_LOCKED;
  phase_ = "caught up, next poll " + base::FormatInstant(next_poll);
}

#undef FM_LOCKED

}  // namespace fm::cli
