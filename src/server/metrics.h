// Prometheus counters fed by the engine's progress events (a ProgressSink)
// and by a CountingTransport, rendered in the text exposition format 0.0.4.
// The metric names are listed in docs/operations.md.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

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
  mutable std::mutex mu_;
  std::map<std::string, int64_t> exported_, loaded_, failed_;
  int64_t windows_planned_ = 0, windows_started_ = 0, windows_loaded_ = 0, windows_failed_ = 0;
  int64_t retries_ = 0, throttling_waits_ = 0;
  double throttling_seconds_ = 0;
  bool halted_ = false;
  std::optional<base::Instant> watermark_;
};

// True when a retry reason means the server throttled us (429 / Retry-After).
bool IsThrottling(const std::string& reason);

}  // namespace fm::server
