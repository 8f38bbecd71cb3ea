// The state store: every step of a migration is recorded here before the
// engine moves on, so a crash at any instant resumes without loss. The commit
// protocol is described in docs/state-store.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace fm::store {

enum class WindowStatus {
  kPlanned,     // recorded, nothing fetched yet
  kExtracting,  // search paging or $export running (export_url may be set)
  kExtracted,   // every file staged (bulk); loading may start
  kLoading,     // loader running
  kLoaded,      // every resource on the destination or in failures
  kFailed,      // last attempt failed; retried until max_attempts, then halt
};
const char* WindowStatusName(WindowStatus s);
std::optional<WindowStatus> ParseWindowStatus(std::string_view name);

struct Window {
  int64_t id = 0;
  base::Instant since;        // inclusive
  base::Instant till;         // exclusive
  std::string resource_type;  // empty: all types (system-level)
  WindowStatus status = WindowStatus::kPlanned;
  int attempts = 0;           // failed attempts so far
  std::string export_url;     // $export status URL once kicked off
  std::string manifest_json;  // completion manifest (URLs redacted of SAS)
  std::optional<base::Instant> transaction_time;
  int64_t resources_extracted = 0;
  int64_t resources_loaded = 0;
  int64_t resources_failed = 0;
  std::string last_error;
  std::optional<base::Instant> not_before;  // backoff: do not retry before
  base::Instant updated_at;
  std::optional<base::Instant> started_at;  // when the last attempt began
  // The source's count of the window's resources when it was planned; -1
  // when not counted. An estimate: resources updated since leave the window.
  int64_t expected = -1;
};

enum class FileStatus { kPending, kDownloading, kStaged, kLoading, kLoaded, kFailed };
const char* FileStatusName(FileStatus s);
std::optional<FileStatus> ParseFileStatus(std::string_view name);

struct FileRecord {
  int64_t id = 0;
  int64_t window_id = 0;
  std::string resource_type;
  std::string url;              // source URL (redacted form for display is derived)
  std::string staged_path;      // local path or staged URL
  int64_t expected_count = -1;  // manifest count, -1 unknown
  int64_t bytes = 0;
  int64_t lines = 0;
  int64_t lines_loaded = 0;  // checkpoint: loading resumes after this line
  FileStatus status = FileStatus::kPending;
  std::string kind = "output";  // output | error | deleted
};

struct JobRecord {
  int64_t id = 0;
  std::string kind;  // "export" | "import"
  int64_t window_id = 0;
  std::string server;               // "source" | "destination"
  std::string status_url;           // Content-Location
  std::string status = "running";   // running | done | failed | cancelled
  std::string request_fingerprint;  // idempotence key (e.g. hash of the input list)
  std::string result_json;
  base::Instant created_at;
  base::Instant updated_at;
};

struct Failure {
  int64_t id = 0;
  int64_t window_id = 0;
  std::string stage;  // "load" | "export" | "import" | "extract"
  std::string resource_type;
  std::string resource_id;
  int http_status = 0;
  std::string reason;         // OperationOutcome diagnostics or our message
  std::string outcome_json;   // the OperationOutcome, if any (never a resource body)
  std::string body_location;  // staged file + line holding the resource, if kept
  bool resolved = false;
  base::Instant at;
  std::optional<base::Instant> resolved_at;  // when an attempt delivered it
};

// One attempt to deliver a quarantined resource. The refusal that put it in
// the failures table is the first (AddFailure records it); `failures retry`
// and `verify --full --fix` add the others.
struct FailureAttempt {
  int64_t id = 0;
  int64_t failure_id = 0;
  base::Instant at;
  std::string outcome;  // "failed" | "resolved"
  int http_status = 0;
  std::string reason;  // why it failed, or what resolved it ("sent", "deleted on the source")
};

struct Deletion {
  int64_t window_id = 0;
  std::string resource_type;
  std::string resource_id;
  base::Instant at;
  bool applied = false;
};

struct CheckRecord {
  int64_t id = 0;
  std::string kind;  // "surface" | "deep" | "full"
  base::Instant at;
  bool passed = false;
  std::string summary_json;
};

struct TypeCounts {
  std::string resource_type;
  int64_t extracted = 0;
  int64_t loaded = 0;
  int64_t failed = 0;
};

struct MigrationState {
  std::string fingerprint;                       // of the settings that shape windows
  std::optional<base::Instant> start;            // first since
  std::optional<base::Instant> watermark;        // everything before is loaded
  std::optional<base::Instant> last_success_at;  // wall time of last loaded window
  bool halted = false;
  std::string halt_reason;
  bool conformance_copied = false;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Runs fn inside one transaction: all its writes commit together or not at
  // all. Nested calls join the outer transaction. Thread-safe.
  virtual base::Status Transaction(const std::function<base::Status()>& fn) = 0;

  // Migration row (created on first call).
  virtual base::Result<MigrationState> GetMigration() = 0;
  virtual base::Status PutMigration(const MigrationState& state) = 0;

  // Windows.
  virtual base::Result<int64_t> AddWindow(const Window& window) = 0;
  virtual base::Status UpdateWindow(const Window& window) = 0;
  virtual base::Result<Window> GetWindow(int64_t id) = 0;
  // Ordered by since, then resource_type.
  virtual base::Result<std::vector<Window>> ListWindows() = 0;
  virtual base::Status DeleteWindow(int64_t id) = 0;  // with its files and counts
  // Windows not yet loaded, ordered like ListWindows (cheap however many
  // windows a long follow run has accumulated).
  virtual base::Result<std::vector<Window>> ListPendingWindows() = 0;
  // The newest window (greatest since) of each resource_type, "" (all types)
  // included, ordered like ListWindows: where each type's timeline ends.
  virtual base::Result<std::vector<Window>> NewestWindows() = 0;

  // Files.
  virtual base::Result<int64_t> AddFile(const FileRecord& file) = 0;
  virtual base::Status UpdateFile(const FileRecord& file) = 0;
  virtual base::Result<std::vector<FileRecord>> ListFiles(int64_t window_id) = 0;
  virtual base::Status DeleteFiles(int64_t window_id) = 0;
  // Bytes of output files downloaded and not yet loaded (staged or loading),
  // over every window: what the staging directory holds for the run.
  virtual base::Result<int64_t> StagedBytes() = 0;

  // Jobs.
  virtual base::Result<int64_t> AddJob(const JobRecord& job) = 0;
  virtual base::Status UpdateJob(const JobRecord& job) = 0;
  virtual base::Result<std::vector<JobRecord>> ListJobs(int64_t window_id) = 0;

  // Failures (the quarantine).
  // Also records the failure's first attempt (outcome "failed").
  virtual base::Status AddFailure(const Failure& failure) = 0;
  // Oldest first (by id), at most `limit` rows (SIZE_MAX: all).
  virtual base::Result<std::vector<Failure>> ListFailures(bool include_resolved, size_t limit) = 0;
  virtual base::Result<int64_t> CountFailures(bool include_resolved) = 0;
  virtual base::Status ResolveFailure(int64_t id) = 0;
  // Adds an attempt to failure `attempt.failure_id`, in one transaction with
  // its effect on the failure: "resolved" marks it resolved (resolved_at =
  // attempt.at); "failed" replaces its http_status and reason with the new
  // ones. kNotFound for an unknown failure.
  virtual base::Status RecordFailureAttempt(const FailureAttempt& attempt) = 0;
  // Oldest first.
  virtual base::Result<std::vector<FailureAttempt>> ListFailureAttempts(int64_t failure_id) = 0;
  // Removes the unresolved failures of a window, with their attempts (a new
  // attempt of the window records them again).
  virtual base::Status DeleteFailures(int64_t window_id) = 0;

  // Deletions seen in exports (deleted[]).
  virtual base::Status AddDeletion(const Deletion& deletion) = 0;
  virtual base::Result<std::vector<Deletion>> ListDeletions(int64_t window_id) = 0;
  virtual base::Status MarkDeletionApplied(int64_t window_id, const std::string& type,
                                           const std::string& id) = 0;

  // Per-window, per-type counters (added to, not replaced).
  virtual base::Status AddCounts(int64_t window_id, const TypeCounts& delta) = 0;
  virtual base::Status ResetCounts(int64_t window_id) = 0;
  // Summed over all windows.
  virtual base::Result<std::vector<TypeCounts>> TotalCounts() = 0;

  // Verification results.
  virtual base::Status AddCheck(const CheckRecord& check) = 0;
  // The newest check of `kind`; kind "" means any kind.
  virtual base::Result<std::optional<CheckRecord>> LastCheck(const std::string& kind) = 0;

  // Free-form key/value for small engine state (e.g. copied conformance ids).
  virtual base::Status PutMeta(const std::string& key, const std::string& value) = 0;
  virtual base::Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;

  virtual int schema_version() const = 0;
};

// Forgets the export job of window `window_id`, so that its next attempt
// kicks off a new one: the job records of its status URL that have not failed
// are marked failed with `why`, the window's export URL, manifest and
// transactionTime are cleared, and its file records deleted — one
// transaction. Returns the file records it deleted (their staged files are
// the caller's to remove) and leaves the updated window in `*window` when
// given.
base::Result<std::vector<FileRecord>> ForgetExport(StateStore& store, int64_t window_id,
                                                   const std::string& why, base::Instant now,
                                                   Window* window = nullptr);

struct SqliteOptions {
  std::string path;        // file; ":memory:" for tests
  bool read_only = false;  // `status` reads while a run writes
  int busy_timeout_ms = 10'000;
};

// Opens (creating and migrating the schema forward when needed) a SQLite
// state store in WAL mode, synchronous=FULL. Files are created 0600.
base::Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const SqliteOptions& options);

}  // namespace fm::store
