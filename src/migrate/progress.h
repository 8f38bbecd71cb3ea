// Progress as events. The engine never prints: the terminal, the log, the
// status server and tests are sinks of these events.
#pragma once

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

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnPlanStarted() {}
  virtual void OnWindowPlanned(const store::Window& /*w*/) {}
  virtual void OnWindowStarted(const store::Window& /*w*/) {}
  virtual void OnResourcesExtracted(int64_t /*window_id*/, const std::string& /*type*/,
                                    int64_t /*n*/) {}
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
  void OnWindowStarted(const store::Window& w) override;
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
