// Progress as events. The engine never prints: the terminal, the log, the
// status server and tests are sinks of these events.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/state_store.h"

namespace fm::migrate {

struct BatchEvent {
  int64_t window_id = 0;
  std::string resource_type;  // of the first entry; mixed bundles report ""
  int64_t loaded = 0;
  int64_t failed = 0;
};

// What a run has to copy, once planning has counted it.
struct PlannedWork {
  // Windows not loaded yet: planned now or by an earlier run.
  int64_t windows = 0;
  // The source's count of the resources in those windows (Window::expected
  // summed; a window not counted adds nothing).
  int64_t resources = 0;
  // The source's count per resource type, of the windows planned now (windows
  // planned by an earlier run are known by their total only).
  std::map<std::string, int64_t> by_type;
};

// What a window in flight is doing. Search windows read pages and load them
// at once; bulk windows wait for the export, download and load its files (or
// hand them to the destination's $import).
enum class WindowStage { kSearching, kExporting, kDownloading, kLoading, kImporting };
const char* WindowStageName(WindowStage stage);  // "searching", "exporting", ...

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnPlanStarted() {}
  virtual void OnWindowPlanned(const store::Window& /*w*/) {}
  // Planning counted the work: after OnPlanStarted and the OnWindowPlanned of
  // that plan, before the first window it planned starts. Each call replaces
  // what an earlier one said (follow mode plans again every poll).
  virtual void OnPlanned(const PlannedWork& /*work*/) {}
  virtual void OnWindowStarted(const store::Window& /*w*/) {}
  // A window in flight moved to `stage`. `expected`, when not -1, is a better
  // count of what the window holds than Window::expected (an export's
  // manifest). Sinks assume kSearching or kExporting from the extraction mode
  // until the first call.
  virtual void OnWindowStage(int64_t /*window_id*/, WindowStage /*stage*/, int64_t /*expected*/) {}
  // Resources (and deletions) of a window read from the source and handed to
  // the loader. Emitted before or soon after the handover: a sink may briefly
  // see more loaded than read.
  virtual void OnResourcesExtracted(int64_t /*window_id*/, const std::string& /*type*/,
                                    int64_t /*n*/) {}
  // Resources the destination acknowledged (written, deleted, or an older
  // version skipped for a newer one) or refused.
  virtual void OnBatchLoaded(const BatchEvent& /*e*/) {}
  virtual void OnResourceFailed(const store::Failure& /*f*/) {}
  virtual void OnWindowLoaded(const store::Window& /*w*/) {}
  virtual void OnWindowFailed(const store::Window& /*w*/, const base::Error& /*e*/) {}
  virtual void OnWatermark(base::Instant /*watermark*/) {}
  virtual void OnHalted(const std::string& /*reason*/) {}
  virtual void OnRetryScheduled(const std::string& /*what*/, base::Millis /*delay*/,
                                const std::string& /*reason*/) {}
  // Free-form notes that belong in the log ("copied 3 SearchParameters").
  virtual void OnNote(const std::string& /*level*/, const std::string& /*message*/) {}
  virtual void OnIdle(base::Instant /*next_poll*/) {}
};

// Forwards every event to several sinks. Thread-safe when they are.
class FanOutSink : public ProgressSink {
 public:
  void Add(ProgressSink* sink) { sinks_.push_back(sink); }
  void OnPlanStarted() override;
  void OnWindowPlanned(const store::Window& w) override;
  void OnPlanned(const PlannedWork& work) override;
  void OnWindowStarted(const store::Window& w) override;
  void OnWindowStage(int64_t window_id, WindowStage stage, int64_t expected) override;
  void OnResourcesExtracted(int64_t window_id, const std::string& type, int64_t n) override;
  void OnBatchLoaded(const BatchEvent& e) override;
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
  std::vector<ProgressSink*> sinks_;
};

}  // namespace fm::migrate
