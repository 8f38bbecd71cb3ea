#include "migrate/progress.h"

namespace fm::migrate {

const char* WindowStageName(WindowStage stage) {
  switch (stage) {
    case WindowStage::kSearching:
      return "searching";
    case WindowStage::kExporting:
      return "exporting";
    case WindowStage::kDownloading:
      return "downloading";
    case WindowStage::kLoading:
      return "loading";
    case WindowStage::kImporting:
      return "importing";
  }
  return "?";
}

#define FM_FAN_OUT(call)            \
  for (ProgressSink * s : sinks_) { \
    s->call;                        \
  }

void FanOutSink::OnPlanStarted() { FM_FAN_OUT(OnPlanStarted()) }
void FanOutSink::OnWindowPlanned(const store::Window& w) { FM_FAN_OUT(OnWindowPlanned(w)) }
void FanOutSink::OnPlanned(const PlannedWork& work) { FM_FAN_OUT(OnPlanned(work)) }
void FanOutSink::OnWindowStarted(const store::Window& w) { FM_FAN_OUT(OnWindowStarted(w)) }
void FanOutSink::OnWindowStage(int64_t window_id, WindowStage stage, int64_t expected) {
  FM_FAN_OUT(OnWindowStage(window_id, stage, expected))
}
void FanOutSink::OnResourcesExtracted(int64_t window_id, const std::string& type, int64_t n) {
  FM_FAN_OUT(OnResourcesExtracted(window_id, type, n))
}
void FanOutSink::OnBatchLoaded(const BatchEvent& e) { FM_FAN_OUT(OnBatchLoaded(e)) }
void FanOutSink::OnResourceFailed(const store::Failure& f) { FM_FAN_OUT(OnResourceFailed(f)) }
void FanOutSink::OnWindowLoaded(const store::Window& w) { FM_FAN_OUT(OnWindowLoaded(w)) }
void FanOutSink::OnWindowFailed(const store::Window& w, const base::Error& e) {
  FM_FAN_OUT(OnWindowFailed(w, e))
}
void FanOutSink::OnWatermark(base::Instant watermark) { FM_FAN_OUT(OnWatermark(watermark)) }
void FanOutSink::OnHalted(const std::string& reason) { FM_FAN_OUT(OnHalted(reason)) }
void FanOutSink::OnRetryScheduled(const std::string& what, base::Millis delay,
                                  const std::string& reason) {
  FM_FAN_OUT(OnRetryScheduled(what, delay, reason))
}
void FanOutSink::OnNote(const std::string& level, const std::string& message) {
  FM_FAN_OUT(OnNote(level, message))
}
void FanOutSink::OnIdle(base::Instant next_poll) { FM_FAN_OUT(OnIdle(next_poll)) }

#undef FM_FAN_OUT

}  // namespace fm::migrate
