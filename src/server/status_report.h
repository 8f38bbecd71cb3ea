// One status snapshot gathered from the state store, rendered as text
// (`fhir-migrate status`) or as JSON (`status --json`, GET /status.json).
// The JSON schema "fhir-migrate.status/1" is documented in docs/status.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "store/state_store.h"

namespace fm::server {

inline constexpr const char* kStatusSchema = "fhir-migrate.status/1";

struct StatusReport {
  base::Instant now;
  store::MigrationState state;
  std::optional<int64_t> lag_seconds;
  // Windows by state name (every state present, zero when none).
  std::map<std::string, int> windows_by_state;
  std::vector<store::Window> windows;  // ordered by since (the timeline)
  std::vector<store::TypeCounts> types;
  int64_t failures_unresolved = 0;
  std::map<std::string, int64_t> failures_by_reason;  // "400 reason" → count
  std::vector<store::Failure> recent_failures;        // newest first, at most 20
  std::optional<store::CheckRecord> last_check;
  // The recent rate: the windows that finished loading within the last
  // `throughput_span` (and had resources), their resources loaded, and the
  // wall time they were in flight (the union of their [started_at,
  // updated_at]); resources_per_second is the one over the other, 0 when no
  // window qualifies. Windows without started_at (state written before
  // schema version 3) are left out.
  int64_t throughput_span_seconds = 60;
  int throughput_windows = 0;
  int64_t throughput_resources = 0;
  double throughput_busy_seconds = 0;
  double resources_per_second = 0;
};

struct StatusOptions {
  base::Millis throughput_span{std::chrono::minutes(1)};
  size_t recent_failures = 20;
  size_t max_windows = 2000;  // the timeline keeps the newest this many
};

// Reads everything `status` shows. Works on a read-only store while a run writes.
base::Result<StatusReport> GatherStatus(store::StateStore& store, base::Instant now,
                                        const StatusOptions& options = {});

std::string StatusJson(const StatusReport& report);  // one line + "\n"
std::string StatusText(const StatusReport& report);

std::string JsonQuote(const std::string& text);

}  // namespace fm::server
