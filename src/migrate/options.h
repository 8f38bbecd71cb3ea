// Typed options of the migration engine. Defaults and meanings sit beside
// each field; src/cli/config_table.cc fills them from TOML, environment
// variables and flags, and validates them once.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/time.h"

namespace fm::migrate {

enum class ExtractMode { kSearch, kBulk };
enum class LoadMode { kRest, kImport };

struct PlanOptions {
  std::optional<base::Instant> start;  // first since; unset: oldest _lastUpdated on the source
  std::optional<base::Instant> end;    // "specific run": migrate only [start, end)
  base::Millis window{std::chrono::hours(24 * 30)};  // window length
  base::Millis min_window{std::chrono::minutes(1)};  // splitting stops here
  int64_t max_resources_per_window = 200'000;        // split above this count
  base::Millis safety_lag{std::chrono::minutes(2)};  // newest till = now - lag
  std::vector<std::string> types;  // empty: every type the source's /metadata lists
  // Per-type mode: each type gets windows of its own (one search or $export
  // per type per window), for sources whose system-level export is slow or
  // missing. Off: every window covers all types.
  bool per_type = false;
};

struct SearchOptions {
  int page_size = 500;  // _count per page
  // Propagate hard deletes seen in `[type]/_history` (request.method DELETE).
  bool deletes = false;
  // Deletions before this instant cannot concern anything already copied
  // (nothing was copied yet), so windows ending earlier skip the history
  // query. The composition root sets it to the first run's start.
  std::optional<base::Instant> deletes_after;
};

// Bulk Data $export extraction (migration.extract = "bulk"); see
// src/migrate/bulk_extractor.h.
struct BulkOptions {
  std::string level = "system";             // system | patient | group
  std::string group_id;                     // level = group
  bool post = false;                        // POST Parameters instead of GET
  std::string upper_bound_param = "_till";  // _till | _until | "" (none)
  bool upper_bound_inclusive = false;       // server compares le: send till - 1 ms
  std::vector<std::string> type_filter;
  std::vector<std::string> include_associated_data;
  std::vector<std::pair<std::string, std::string>> extra_params;
  int parallel_downloads = 4;
  base::Millis poll_interval{std::chrono::seconds(1)};      // first poll delay, doubles
  base::Millis max_poll_interval{std::chrono::minutes(5)};  // also the Retry-After clamp
  bool delete_status_url = true;                            // DELETE the status URL once staged
  std::string staging_dir;                                  // "" = "staging" next to the state file
  bool keep_files = false;                                  // keep staged files after loading
  int max_download_attempts = 5;                            // per file
  // REST loading: load each file as soon as it is staged while the later
  // ones download (false: stage every file of the window first).
  bool pipeline = true;
  // Set from migration.propagate_deletes: a deleted version in output[] (what
  // includeAssociatedData=_deleted adds, marked with the deleted-state meta
  // extension; Azure lists deletions only there) is loaded as a DELETE of its
  // resource, ordered with that resource's other versions. Otherwise skipped.
  bool deleted_versions_delete = false;
  // Stage the window's files and record their counts, but stream nothing into
  // the consumer (migration.load = import: the destination pulls the files).
  bool stage_only = false;
  // With stage_only: download no output file; the export URLs are the staged
  // files (staging.kind = passthrough) and the status URL is not deleted.
  bool passthrough = false;
};

// Server-side `$import` loading (migration.load = "import"); see
// docs/import-and-staging.md.
struct ImportLoadOptions {
  std::string mode = "IncrementalLoad";  // IncrementalLoad | InitialLoad
  int files_per_request = 10000;         // inputs per $import
  int parallel_imports = 5;              // jobs in flight
  std::string staging_kind = "local";    // local | passthrough | serve | azure-blob
  std::string serve_address;             // staging.kind = serve: host:port to listen on
  std::string azure_container_url;       // staging.kind = azure-blob
  std::string azure_account;
  std::string azure_key_env;  // env variable holding the Shared Key
  std::string azure_sas_env;  // env variable holding a container SAS
  base::Millis sas_expiry{std::chrono::hours(24)};
};

struct RestLoadOptions {
  int batch_size = 100;            // entries per Bundle
  int concurrency = 4;             // Bundles in flight
  bool transaction = false;        // "transaction" instead of "batch" Bundles
  int max_entry_retries = 3;       // an entry answering 429/5xx is re-sent this often
  size_t queue_bundles = 16;       // bundles buffered between extract and load
  bool rewrite_references = true;  // absolute source references → relative
  // Resources whose newest sent version a session remembers (at least half of
  // them), to skip an older version consumed after a newer one. 0 turns the
  // memory off; `run` does so unless windows can hold several versions of a
  // resource (LoadsWindowsInOrder), so a plain export costs no memory per id.
  size_t version_memory = 100'000;
};

struct RunOptions {
  int max_attempts = 5;                                  // per window, then halt
  base::Millis retry_backoff{std::chrono::seconds(10)};  // first window retry delay
  base::Millis max_retry_backoff{std::chrono::minutes(10)};
  base::Millis poll_interval{std::chrono::minutes(1)};  // follow mode
  int windows_in_flight = 1;                            // windows extracted/loaded at once
  bool propagate_deletes = false;  // apply deletions the extractor found (history, deleted[])
  // Daily UTC hours [pause_from_hour, pause_to_hour) in which no new window
  // starts (business hours on the source). Equal values: no pause. May wrap
  // midnight (22 → 6). Windows already running finish, unless
  // `pause_stops_in_flight`: then they stop at their next checkpoint when the
  // pause begins (state committed, nothing lost) and resume after it.
  int pause_from_hour = 0;
  int pause_to_hour = 0;
  bool pause_stops_in_flight = false;
};

// When `now` is inside the pause, the instant it ends; else nullopt.
std::optional<base::Instant> PauseEnds(const RunOptions& options, base::Instant now);

// Conformance resources copied before the first window (custom
// SearchParameters; by config also StructureDefinition, ValueSet, CodeSystem).
struct ConformanceOptions {
  bool enabled = true;
  std::vector<std::string> types = {"SearchParameter"};
  int page_size = 200;
};

struct MigrationOptions {
  // Which migration this is: the source and destination base URLs. Its hash
  // is recorded in the state store on the first run; a later run with other
  // servers is refused (the store's windows and watermark describe a
  // different copy). Empty: not checked (tests that build engines directly).
  std::string identity;
  ExtractMode extract = ExtractMode::kSearch;
  LoadMode load = LoadMode::kRest;
  PlanOptions plan;
  SearchOptions search;
  BulkOptions bulk;
  RestLoadOptions rest;
  ImportLoadOptions import;
  RunOptions run;
  ConformanceOptions conformance;
};

// Types the engine never copies as data (server infrastructure).
const std::vector<std::string>& ExcludedTypes();

}  // namespace fm::migrate
