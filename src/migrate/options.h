// Typed options of the migration engine. Defaults and meanings sit beside
// each field; src/cli/config_table.cc fills them from TOML, environment
// variables and flags, and validates them once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/time.h"

namespace fm::migrate {

enum class ExtractMode { kSearch, kBulk };
enum class LoadMode { kRest, kImport };

struct PlanOptions {
  std::optional<base::Instant> start;   // first since; unset: oldest _lastUpdated on the source
  std::optional<base::Instant> end;     // "specific run": migrate only [start, end)
  base::Millis window{std::chrono::hours(24 * 30)};       // window length
  base::Millis min_window{std::chrono::minutes(1)};       // splitting stops here
  int64_t max_resources_per_window = 200'000;             // split above this count
  base::Millis safety_lag{std::chrono::minutes(2)};       // newest till = now - lag
  std::vector<std::string> types;       // empty: every type the source's /metadata lists
  bool per_type = false;                // one window per resource type (per-type mode)
};

struct SearchOptions {
  int page_size = 500;  // _count per page
};

struct RestLoadOptions {
  int batch_size = 100;          // entries per Bundle
  int concurrency = 4;           // Bundles in flight
  bool transaction = false;      // "transaction" instead of "batch" Bundles
  int max_entry_retries = 3;     // an entry answering 429/5xx is re-sent this often
  size_t queue_bundles = 16;     // bundles buffered between extract and load
  bool rewrite_references = true;  // absolute source references → relative
};

struct RunOptions {
  int max_attempts = 5;                                   // per window, then halt
  base::Millis retry_backoff{std::chrono::seconds(10)};   // first window retry delay
  base::Millis max_retry_backoff{std::chrono::minutes(10)};
  base::Millis poll_interval{std::chrono::minutes(1)};    // follow mode
  int windows_in_flight = 1;                              // windows extracted/loaded at once
};

struct MigrationOptions {
  ExtractMode extract = ExtractMode::kSearch;
  LoadMode load = LoadMode::kRest;
  PlanOptions plan;
  SearchOptions search;
  RestLoadOptions rest;
  RunOptions run;
};

// Types the engine never copies as data (server infrastructure).
const std::vector<std::string>& ExcludedTypes();

}  // namespace fm::migrate
