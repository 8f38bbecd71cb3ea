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
  // Throughput over windows loaded within the last `throughput_span`.
  int64_t throughput_span_seconds = 300;
  int throughput_windows = 0;
  int64_t throughput_resources = 0;
  double resources_per_second = 0;
};

struct StatusOptions {
  base::Millis throughput_span{std::chrono::minutes(5)};
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
