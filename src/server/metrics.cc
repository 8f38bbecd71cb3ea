#include "server/metrics.h"

#include <cstdio>

namespace fm::server {
namespace {

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string Double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void ByType(std::string& out, const char* name, const char* help,
            const std::map<std::string, int64_t>& m) {
  Header(out, name, "counter", help);
  for (const auto& [type, n] : m) {
    out += std::string(name) + "{type=\"" + Label(type.empty() ? "mixed" : type) + "\"} " +
           std::to_string(n) + "\n";
  }
}

}  // namespace

bool IsThrottling(const std::string& reason) {
  return reason.find("429") != std::string::npos ||
         reason.find("Retry-After") != std::string::npos ||
         reason.find("throttl") != std::string::npos ||
         reason.find("rate limit") != std::string::npos ||
         reason.find("server asked to wait") != std::string::npos;
}

void MetricsSink::OnWindowPlanned(const store::Window& w) {
  base::MutexLock lock(mu_);
  ++windows_planned_;
  if (w.status == store::WindowStatus::kLoaded) ++windows_loaded_;  // empty: done at planning
}
void MetricsSink::OnWindowStarted(const store::Window&) {
  base::MutexLock lock(mu_);
  ++windows_started_;
}
void MetricsSink::OnResourcesExtracted(int64_t, const std::string& type, int64_t n) {
  base::MutexLock lock(mu_);
  exported_[type] += n;
}
void MetricsSink::OnBatchLoaded(const migrate::BatchEvent& e) {
  base::MutexLock lock(mu_);
  if (e.loaded) loaded_[e.resource_type] += e.loaded;
}
void MetricsSink::OnResourceFailed(const store::Failure& f) {
  base::MutexLock lock(mu_);
  ++failed_[f.resource_type];
}
void MetricsSink::OnWindowLoaded(const store::Window&) {
  base::MutexLock lock(mu_);
  ++windows_loaded_;
}
void MetricsSink::OnWindowFailed(const store::Window&, const base::Error&) {
  base::MutexLock lock(mu_);
  ++windows_failed_;
}
void MetricsSink::OnWatermark(base::Instant watermark) {
  base::MutexLock lock(mu_);
  watermark_ = watermark;
}
void MetricsSink::OnHalted(const std::string&) {
  base::MutexLock lock(mu_);
  halted_ = true;
}
void MetricsSink::OnRetryScheduled(const std::string&, base::Millis delay,
                                   const std::string& reason) {
  base::MutexLock lock(mu_);
  ++retries_;
  if (IsThrottling(reason)) {
    ++throttling_waits_;
    throttling_seconds_ += static_cast<double>(delay.count()) / 1000.0;
  }
}
void MetricsSink::SetWatermark(std::optional<base::Instant> watermark) {
  base::MutexLock lock(mu_);
  watermark_ = watermark;
}

std::string MetricsSink::Render(base::Instant now, const http::CountingTransport* transport,
                                int64_t bytes_staged) const {
  base::MutexLock lock(mu_);
  std::string out;
  ByType(out, "fhir_migrate_resources_exported_total",
         "Resources read from the source, by type.", exported_);
  ByType(out, "fhir_migrate_resources_loaded_total",
         "Resources written to the destination, by type (type of the Bundle's first entry).",
         loaded_);
  ByType(out, "fhir_migrate_resources_failed_total",
         "Resources the destination refused (quarantined), by type.", failed_);
  Header(out, "fhir_migrate_http_requests_total", "counter",
         "HTTP exchanges (each attempt), by server and status; status=\"error\" when none completed.");
  if (transport) {
    for (const auto& [key, n] : transport->Snapshot()) {
      out += "fhir_migrate_http_requests_total{server=\"" + Label(key.first) + "\",status=\"" +
             Label(key.second) + "\"} " + std::to_string(n) + "\n";
    }
  }
  Header(out, "fhir_migrate_http_response_bytes_total", "counter",
         "Decoded response body bytes received.");
  out += "fhir_migrate_http_response_bytes_total " +
         std::to_string(transport ? transport->bytes_received() : 0) + "\n";
  Header(out, "fhir_migrate_retries_total", "counter",
         "Retries scheduled (HTTP requests, Bundle entries, windows).");
  out += "fhir_migrate_retries_total " + std::to_string(retries_) + "\n";
  Header(out, "fhir_migrate_throttling_waits_total", "counter",
         "Retries caused by throttling (429 / Retry-After).");
  out += "fhir_migrate_throttling_waits_total " + std::to_string(throttling_waits_) + "\n";
  Header(out, "fhir_migrate_throttling_wait_seconds_total", "counter",
         "Seconds spent waiting because of throttling.");
  out += "fhir_migrate_throttling_wait_seconds_total " + Double(throttling_seconds_) + "\n";
  Header(out, "fhir_migrate_windows_total", "counter", "Window events in this run, by event.");
  out += "fhir_migrate_windows_total{event=\"planned\"} " + std::to_string(windows_planned_) + "\n";
  out += "fhir_migrate_windows_total{event=\"started\"} " + std::to_string(windows_started_) + "\n";
  out += "fhir_migrate_windows_total{event=\"loaded\"} " + std::to_string(windows_loaded_) + "\n";
  out += "fhir_migrate_windows_total{event=\"failed\"} " + std::to_string(windows_failed_) + "\n";
  Header(out, "fhir_migrate_window_lag_seconds", "gauge",
         "Seconds between now and the watermark (-1 before the first window is loaded).");
  double lag = watermark_ ? static_cast<double>((now - *watermark_).count()) / 1000.0 : -1.0;
  out += "fhir_migrate_window_lag_seconds " + Double(lag) + "\n";
  Header(out, "fhir_migrate_watermark_timestamp_seconds", "gauge",
         "The watermark as Unix time (0 before the first window is loaded).");
  out += "fhir_migrate_watermark_timestamp_seconds " +
         Double(watermark_ ? static_cast<double>(base::ToEpochMillis(*watermark_)) / 1000.0 : 0.0) +
         "\n";
  Header(out, "fhir_migrate_bytes_staged", "gauge",
         "Bytes of downloaded export files waiting to be loaded (0 in search mode).");
  out += "fhir_migrate_bytes_staged " + std::to_string(bytes_staged) + "\n";
  Header(out, "fhir_migrate_halted", "gauge", "1 when the migration is halted.");
  out += std::string("fhir_migrate_halted ") + (halted_ ? "1" : "0") + "\n";
  return out;
}

}  // namespace fm::server
