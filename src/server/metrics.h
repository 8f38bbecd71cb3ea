// Prometheus counters fed by the engine's progress events (a ProgressSink)
// and by a CountingTransport, rendered in the text exposition format 0.0.4.
// The metric names are listed in docs/operations.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "http/counting_transport.h"
#include "migrate/progress.h"

namespace fm::server {

class MetricsSink : public migrate::ProgressSink {
 public:
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

  // Seeds the watermark gauge from the store before the run starts.
  void SetWatermark(std::optional<base::Instant> watermark);

  // The whole exposition; `transport` (may be null) adds the HTTP counters.
  std::string Render(base::Instant now, const http::CountingTransport* transport,
                     int64_t bytes_staged) const;

 private:
  mutable base::Mutex mu_;  // events arrive from every window and loader thread
  std::map<std::string, int64_t> exported_ FM_GUARDED_BY(mu_);
  std::map<std::string, int64_t> loaded_ FM_GUARDED_BY(mu_);
  std::map<std::string, int64_t> failed_ FM_GUARDED_BY(mu_);
  int64_t windows_planned_ FM_GUARDED_BY(mu_) = 0;
  int64_t windows_started_ FM_GUARDED_BY(mu_) = 0;
  int64_t windows_loaded_ FM_GUARDED_BY(mu_) = 0;
  int64_t windows_failed_ FM_GUARDED_BY(mu_) = 0;
  int64_t retries_ FM_GUARDED_BY(mu_) = 0;
  int64_t throttling_waits_ FM_GUARDED_BY(mu_) = 0;
  double throttling_seconds_ FM_GUARDED_BY(mu_) = 0;
  bool halted_ FM_GUARDED_BY(mu_) = false;
  std::optional<base::Instant> watermark_ FM_GUARDED_BY(mu_);
};

// True when a retry reason means the server throttled us (429 / Retry-After).
bool IsThrottling(const std::string& reason);

}  // namespace fm::server
