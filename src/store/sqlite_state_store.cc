// StateStore on one SQLite connection. Every method takes the connection's
// recursive mutex, so calls from many threads serialise, and calls made inside
// Transaction's fn on the same thread join that transaction. A write outside
// Transaction is its own autocommit transaction.
#include <cstdint>
#include <limits>
#include <mutex>

#include "store/sqlite_db.h"
#include "store/state_store.h"

namespace fm::store {
namespace {

using base::ErrorKind;
using base::MakeError;
using base::Result;
using base::Status;
using internal::Db;
using internal::Stmt;
using Lock = std::lock_guard<std::recursive_mutex>;

// Column lists shared by the SELECTs and the row readers below (same order).
#define FM_WINDOW_COLS                                                                      \
  "id, since, till, resource_type, status, attempts, export_url, manifest_json, "           \
  "transaction_time, resources_extracted, resources_loaded, resources_failed, last_error, " \
  "not_before, updated_at, started_at, expected"
#define FM_FILE_COLS                                                               \
  "id, window_id, resource_type, url, staged_path, expected_count, bytes, lines, " \
  "lines_loaded, status, kind"
#define FM_JOB_COLS                                                                     \
  "id, kind, window_id, server, status_url, status, request_fingerprint, result_json, " \
  "created_at, updated_at"
#define FM_FAILURE_COLS                                                                   \
  "id, window_id, stage, resource_type, resource_id, http_status, reason, outcome_json, " \
  "body_location, resolved, at, resolved_at"

base::Error BadValue(const std::string& what, const std::string& value) {
  return MakeError(ErrorKind::kStorage, "state file holds an unknown " + what + " '" + value +
                                            "' (written by a newer fhir-migrate?)");
}

Result<Window> ReadWindow(const Stmt& s) {
  Window w;
  w.id = s.Int(0);
  w.since = s.Time(1);
  w.till = s.Time(2);
  w.resource_type = s.Text(3);
  auto status = ParseWindowStatus(s.Text(4));
  if (!status) return BadValue("window status", s.Text(4));
  w.status = *status;
  w.attempts = static_cast<int>(s.Int(5));
  w.export_url = s.Text(6);
  w.manifest_json = s.Text(7);
  w.transaction_time = s.OptTime(8);
  w.resources_extracted = s.Int(9);
  w.resources_loaded = s.Int(10);
  w.resources_failed = s.Int(11);
  w.last_error = s.Text(12);
  w.not_before = s.OptTime(13);
  w.updated_at = s.Time(14);
  w.started_at = s.OptTime(15);
  w.expected = s.Int(16);
  return w;
}

Result<FileRecord> ReadFile(const Stmt& s) {
  FileRecord f;
  f.id = s.Int(0);
  f.window_id = s.Int(1);
  f.resource_type = s.Text(2);
  f.url = s.Text(3);
  f.staged_path = s.Text(4);
  f.expected_count = s.Int(5);
  f.bytes = s.Int(6);
  f.lines = s.Int(7);
  f.lines_loaded = s.Int(8);
  auto status = ParseFileStatus(s.Text(9));
  if (!status) return BadValue("file status", s.Text(9));
  f.status = *status;
  f.kind = s.Text(10);
  return f;
}

Result<JobRecord> ReadJob(const Stmt& s) {
  return JobRecord{s.Int(0),  s.Text(1), s.Int(2),  s.Text(3), s.Text(4),
                   s.Text(5), s.Text(6), s.Text(7), s.Time(8), s.Time(9)};
}

Result<Failure> ReadFailure(const Stmt& s) {
  return Failure{s.Int(0),  s.Int(1),  s.Text(2), s.Text(3), s.Text(4),  static_cast<int>(s.Int(5)),
                 s.Text(6), s.Text(7), s.Text(8), s.Bool(9), s.Time(10), s.OptTime(11)};
}

Result<FailureAttempt> ReadFailureAttempt(const Stmt& s) {
  return FailureAttempt{s.Int(0), s.Int(1), s.Time(2), s.Text(3), static_cast<int>(s.Int(4)),
                        s.Text(5)};
}

Result<Deletion> ReadDeletion(const Stmt& s) {
  return Deletion{s.Int(0), s.Text(1), s.Text(2), s.Time(3), s.Bool(4)};
}

Result<TypeCounts> ReadCounts(const Stmt& s) {
  return TypeCounts{s.Text(0), s.Int(1), s.Int(2), s.Int(3)};
}

Result<CheckRecord> ReadCheck(const Stmt& s) {
  return CheckRecord{s.Int(0), s.Text(1), s.Time(2), s.Bool(3), s.Text(4)};
}

Result<MigrationState> ReadMigration(const Stmt& s) {
  return MigrationState{s.Text(0), s.OptTime(1), s.OptTime(2), s.OptTime(3),
                        s.Bool(4), s.Text(5),    s.Bool(6)};
}

Result<std::string> ReadText(const Stmt& s) { return s.Text(0); }
Result<int64_t> ReadInt(const Stmt& s) { return s.Int(0); }

class SqliteStateStore final : public StateStore {
 public:
  explicit SqliteStateStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Db* db() { return db_.get(); }

  Status Transaction(const std::function<Status()>& fn) override { return db_->Transaction(fn); }

  Result<MigrationState> GetMigration() override {
    Lock lock(db_->mu());
    const char* select =
        "SELECT fingerprint, start, watermark, last_success_at, halted, halt_reason, "
        "conformance_copied FROM migration WHERE id = 1";
    FM_ASSIGN_OR_RETURN(auto rows, Query<MigrationState>(select, "GetMigration", ReadMigration));
    if (!rows.empty() || db_->read_only()) return rows.empty() ? MigrationState{} : rows[0];
    FM_TRY_STATUS(
        Write("INSERT INTO migration (id) VALUES (1) ON CONFLICT DO NOTHING", "GetMigration"));
    return MigrationState{};
  }

  Status PutMigration(const MigrationState& m) override {
    return Write(
        "INSERT INTO migration (id, fingerprint, start, watermark, last_success_at, halted, "
        "halt_reason, conformance_copied) VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO "
        "UPDATE SET fingerprint = excluded.fingerprint, start = excluded.start, watermark = "
        "excluded.watermark, last_success_at = excluded.last_success_at, halted = "
        "excluded.halted, halt_reason = excluded.halt_reason, conformance_copied = "
        "excluded.conformance_copied",
        "PutMigration", m.fingerprint, m.start, m.watermark, m.last_success_at, m.halted,
        m.halt_reason, m.conformance_copied);
  }

  Result<int64_t> AddWindow(const Window& w) override {
    return Insert(
        "INSERT INTO windows (since, till, resource_type, status, attempts, export_url, "
        "manifest_json, transaction_time, resources_extracted, resources_loaded, "
        "resources_failed, last_error, not_before, updated_at, started_at, expected) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "AddWindow", w.since, w.till, w.resource_type, WindowStatusName(w.status), w.attempts,
        w.export_url, w.manifest_json, w.transaction_time, w.resources_extracted,
        w.resources_loaded, w.resources_failed, w.last_error, w.not_before, w.updated_at,
        w.started_at, w.expected);
  }

  Status UpdateWindow(const Window& w) override {
    return Update(
        "UPDATE windows SET since = ?, till = ?, resource_type = ?, status = ?, attempts = ?, "
        "export_url = ?, manifest_json = ?, transaction_time = ?, resources_extracted = ?, "
        "resources_loaded = ?, resources_failed = ?, last_error = ?, not_before = ?, "
        "updated_at = ?, started_at = ?, expected = ? WHERE id = ?",
        "UpdateWindow", "window", w.id, w.since, w.till, w.resource_type,
        WindowStatusName(w.status), w.attempts, w.export_url, w.manifest_json, w.transaction_time,
        w.resources_extracted, w.resources_loaded, w.resources_failed, w.last_error, w.not_before,
        w.updated_at, w.started_at, w.expected, w.id);
  }

  Result<Window> GetWindow(int64_t id) override {
    FM_ASSIGN_OR_RETURN(
        auto rows, Query<Window>("SELECT " FM_WINDOW_COLS " FROM windows WHERE id = ?", "GetWindow",
                                 ReadWindow, id));
    if (rows.empty()) return NotFound("window", id);
    return std::move(rows[0]);
  }

  Result<std::vector<Window>> ListWindows() override {
    return Query<Window>("SELECT " FM_WINDOW_COLS " FROM windows ORDER BY since, resource_type, id",
                         "ListWindows", ReadWindow);
  }

  Result<std::vector<Window>> ListPendingWindows() override {
    // IN over the other statuses, not != 'loaded', so windows_status serves it.
    return Query<Window>(
        "SELECT " FM_WINDOW_COLS
        " FROM windows WHERE status IN (?, ?, ?, ?, ?) "
        "ORDER BY since, resource_type, id",
        "ListPendingWindows", ReadWindow, WindowStatusName(WindowStatus::kPlanned),
        WindowStatusName(WindowStatus::kExtracting), WindowStatusName(WindowStatus::kExtracted),
        WindowStatusName(WindowStatus::kLoading), WindowStatusName(WindowStatus::kFailed));
  }

  Result<std::vector<Window>> NewestWindows() override {
    // A skip-scan over windows_type_since: one index seek per type, however
    // many windows there are.
    return Query<Window>(
        "WITH RECURSIVE types(t) AS ("
        " SELECT min(resource_type) FROM windows"
        " UNION ALL SELECT (SELECT min(resource_type) FROM windows WHERE resource_type > t)"
        " FROM types WHERE t IS NOT NULL) "
        "SELECT " FM_WINDOW_COLS
        " FROM windows WHERE id IN (SELECT (SELECT id FROM windows"
        " WHERE resource_type = t ORDER BY since DESC, till DESC, id DESC LIMIT 1)"
        " FROM types WHERE t IS NOT NULL) ORDER BY since, resource_type, id",
        "NewestWindows", ReadWindow);
  }

  Status DeleteWindow(int64_t id) override {
    return Transaction([&]() -> Status {
      FM_TRY_STATUS(Write("DELETE FROM files WHERE window_id = ?", "DeleteWindow", id));
      FM_TRY_STATUS(Write("DELETE FROM window_counts WHERE window_id = ?", "DeleteWindow", id));
      FM_TRY_STATUS(Write("DELETE FROM jobs WHERE window_id = ?", "DeleteWindow", id));
      FM_TRY_STATUS(Write("DELETE FROM deletions WHERE window_id = ?", "DeleteWindow", id));
      return Write("DELETE FROM windows WHERE id = ?", "DeleteWindow", id);
    });
  }

  Result<int64_t> AddFile(const FileRecord& f) override {
    return Insert(
        "INSERT INTO files (window_id, resource_type, url, staged_path, expected_count, bytes, "
        "lines, lines_loaded, status, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "AddFile", f.window_id, f.resource_type, f.url, f.staged_path, f.expected_count, f.bytes,
        f.lines, f.lines_loaded, FileStatusName(f.status), f.kind);
  }

  Status UpdateFile(const FileRecord& f) override {
    return Update(
        "UPDATE files SET window_id = ?, resource_type = ?, url = ?, staged_path = ?, "
        "expected_count = ?, bytes = ?, lines = ?, lines_loaded = ?, status = ?, kind = ? "
        "WHERE id = ?",
        "UpdateFile", "file", f.id, f.window_id, f.resource_type, f.url, f.staged_path,
        f.expected_count, f.bytes, f.lines, f.lines_loaded, FileStatusName(f.status), f.kind, f.id);
  }

  Result<std::vector<FileRecord>> ListFiles(int64_t window_id) override {
    return Query<FileRecord>("SELECT " FM_FILE_COLS " FROM files WHERE window_id = ? ORDER BY id",
                             "ListFiles", ReadFile, window_id);
  }

  Status DeleteFiles(int64_t window_id) override {
    return Write("DELETE FROM files WHERE window_id = ?", "DeleteFiles", window_id);
  }

  Result<int64_t> StagedBytes() override {
    FM_ASSIGN_OR_RETURN(auto rows,
                        Query<int64_t>("SELECT coalesce(sum(bytes), 0) FROM files "
                                       "WHERE kind = 'output' AND status IN (?, ?)",
                                       "StagedBytes", ReadInt, FileStatusName(FileStatus::kStaged),
                                       FileStatusName(FileStatus::kLoading)));
    return rows.empty() ? 0 : rows.front();
  }

  Result<int64_t> AddJob(const JobRecord& j) override {
    return Insert(
        "INSERT INTO jobs (kind, window_id, server, status_url, status, request_fingerprint, "
        "result_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "AddJob", j.kind, j.window_id, j.server, j.status_url, j.status, j.request_fingerprint,
        j.result_json, j.created_at, j.updated_at);
  }

  Status UpdateJob(const JobRecord& j) override {
    return Update(
        "UPDATE jobs SET kind = ?, window_id = ?, server = ?, status_url = ?, status = ?, "
        "request_fingerprint = ?, result_json = ?, created_at = ?, updated_at = ? WHERE id = ?",
        "UpdateJob", "job", j.id, j.kind, j.window_id, j.server, j.status_url, j.status,
        j.request_fingerprint, j.result_json, j.created_at, j.updated_at, j.id);
  }

  Result<std::vector<JobRecord>> ListJobs(int64_t window_id) override {
    return Query<JobRecord>("SELECT " FM_JOB_COLS " FROM jobs WHERE window_id = ? ORDER BY id",
                            "ListJobs", ReadJob, window_id);
  }

  Status AddFailure(const Failure& f) override {
    return Transaction([&]() -> Status {
      FM_ASSIGN_OR_RETURN(
          int64_t id,
          Insert("INSERT INTO failures (window_id, stage, resource_type, resource_id, "
                 "http_status, reason, outcome_json, body_location, resolved, at, resolved_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "AddFailure", f.window_id, f.stage, f.resource_type, f.resource_id, f.http_status,
                 f.reason, f.outcome_json, f.body_location, f.resolved, f.at, f.resolved_at));
      return Write(
          "INSERT INTO failure_attempts (failure_id, at, outcome, http_status, reason) "
          "VALUES (?, ?, 'failed', ?, ?)",
          "AddFailure", id, f.at, f.http_status, f.reason);
    });
  }

  Status RecordFailureAttempt(const FailureAttempt& a) override {
    return Transaction([&]() -> Status {
      if (a.outcome == "resolved") {
        FM_TRY_STATUS(Update("UPDATE failures SET resolved = 1, resolved_at = ? WHERE id = ?",
                             "RecordFailureAttempt", "failure", a.failure_id, a.at, a.failure_id));
      } else {
        FM_TRY_STATUS(Update("UPDATE failures SET http_status = ?, reason = ? WHERE id = ?",
                             "RecordFailureAttempt", "failure", a.failure_id, a.http_status,
                             a.reason, a.failure_id));
      }
      return Write(
          "INSERT INTO failure_attempts (failure_id, at, outcome, http_status, reason) "
          "VALUES (?, ?, ?, ?, ?)",
          "RecordFailureAttempt", a.failure_id, a.at, a.outcome, a.http_status, a.reason);
    });
  }

  Result<std::vector<FailureAttempt>> ListFailureAttempts(int64_t failure_id) override {
    return Query<FailureAttempt>(
        "SELECT id, failure_id, at, outcome, http_status, reason FROM failure_attempts "
        "WHERE failure_id = ? ORDER BY id",
        "ListFailureAttempts", ReadFailureAttempt, failure_id);
  }

  Result<std::vector<Failure>> ListFailures(bool include_resolved, size_t limit) override {
    constexpr auto kMax = static_cast<size_t>(std::numeric_limits<int64_t>::max());
    const auto rows = static_cast<int64_t>(limit > kMax ? kMax : limit);
    return Query<Failure>("SELECT " FM_FAILURE_COLS
                          " FROM failures WHERE (? OR resolved = 0) ORDER BY id LIMIT ?",
                          "ListFailures", ReadFailure, include_resolved, rows);
  }

  Result<int64_t> CountFailures(bool include_resolved) override {
    FM_ASSIGN_OR_RETURN(auto rows,
                        Query<int64_t>("SELECT count(*) FROM failures WHERE (? OR resolved = 0)",
                                       "CountFailures", ReadInt, include_resolved));
    return rows.empty() ? 0 : rows[0];
  }

  Status ResolveFailure(int64_t id) override {
    return Update("UPDATE failures SET resolved = 1 WHERE id = ?", "ResolveFailure", "failure", id,
                  id);
  }

  Status DeleteFailures(int64_t window_id) override {
    return Write("DELETE FROM failures WHERE window_id = ? AND resolved = 0", "DeleteFailures",
                 window_id);
  }

  // A deletion seen again (a replayed manifest) keeps its applied flag.
  Status AddDeletion(const Deletion& d) override {
    return Write(
        "INSERT INTO deletions (window_id, resource_type, resource_id, at, applied) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (window_id, resource_type, resource_id) DO UPDATE "
        "SET at = max(at, excluded.at), applied = max(applied, excluded.applied)",
        "AddDeletion", d.window_id, d.resource_type, d.resource_id, d.at, d.applied);
  }

  Result<std::vector<Deletion>> ListDeletions(int64_t window_id) override {
    return Query<Deletion>(
        "SELECT window_id, resource_type, resource_id, at, applied FROM deletions "
        "WHERE window_id = ? ORDER BY resource_type, resource_id",
        "ListDeletions", ReadDeletion, window_id);
  }

  Status MarkDeletionApplied(int64_t window_id, const std::string& type,
                             const std::string& id) override {
    return Update(
        "UPDATE deletions SET applied = 1 WHERE window_id = ? AND resource_type = ? AND "
        "resource_id = ?",
        "MarkDeletionApplied", "deletion in window", window_id, window_id, type, id);
  }

  Status AddCounts(int64_t window_id, const TypeCounts& c) override {
    return Write(
        "INSERT INTO window_counts (window_id, resource_type, extracted, loaded, failed) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (window_id, resource_type) DO UPDATE SET "
        "extracted = extracted + excluded.extracted, loaded = loaded + excluded.loaded, "
        "failed = failed + excluded.failed",
        "AddCounts", window_id, c.resource_type, c.extracted, c.loaded, c.failed);
  }

  Status ResetCounts(int64_t window_id) override {
    return Write("DELETE FROM window_counts WHERE window_id = ?", "ResetCounts", window_id);
  }

  Result<std::vector<TypeCounts>> TotalCounts() override {
    return Query<TypeCounts>(
        "SELECT resource_type, sum(extracted), sum(loaded), sum(failed) FROM window_counts "
        "GROUP BY resource_type ORDER BY resource_type",
        "TotalCounts", ReadCounts);
  }

  Status AddCheck(const CheckRecord& c) override {
    return Write("INSERT INTO checks (kind, at, passed, summary_json) VALUES (?, ?, ?, ?)",
                 "AddCheck", c.kind, c.at, c.passed, c.summary_json);
  }

  Result<std::optional<CheckRecord>> LastCheck(const std::string& kind) override {
    FM_ASSIGN_OR_RETURN(
        auto rows,
        Query<CheckRecord>("SELECT id, kind, at, passed, summary_json FROM checks "
                           "WHERE (?1 = '' OR kind = ?1) ORDER BY at DESC, id DESC LIMIT 1",
                           "LastCheck", ReadCheck, kind));
    if (rows.empty()) return std::optional<CheckRecord>();
    return std::optional<CheckRecord>(std::move(rows[0]));
  }

  Status PutMeta(const std::string& key, const std::string& value) override {
    return Write(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        "PutMeta", key, value);
  }

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    FM_ASSIGN_OR_RETURN(auto rows, Query<std::string>("SELECT value FROM meta WHERE key = ?",
                                                      "GetMeta", ReadText, key));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(rows[0]));
  }

  int schema_version() const override { return db_->schema_version(); }

 private:
  static base::Error NotFound(const char* what, int64_t id) {
    return MakeError(ErrorKind::kNotFound, std::string(what) + " " + std::to_string(id) +
                                               " not found in the state store");
  }

  template <typename... Args>
  Status Write(std::string_view sql, const char* op, const Args&... args) {
    Lock lock(db_->mu());
    FM_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql, op));
    return s.BindAll(args...).Run();
  }

  // An UPDATE that must hit a row: kNotFound when none has `id`.
  template <typename... Args>
  Status Update(std::string_view sql, const char* op, const char* what, int64_t id,
                const Args&... args) {
    Lock lock(db_->mu());
    FM_TRY_STATUS(Write(sql, op, args...));
    if (db_->Changes() == 0) return NotFound(what, id);
    return base::Ok();
  }

  template <typename... Args>
  Result<int64_t> Insert(std::string_view sql, const char* op, const Args&... args) {
    Lock lock(db_->mu());
    FM_TRY_STATUS(Write(sql, op, args...));
    return db_->LastInsertId();
  }

  template <typename T, typename... Args>
  Result<std::vector<T>> Query(std::string_view sql, const char* op, Result<T> (*read)(const Stmt&),
                               const Args&... args) {
    Lock lock(db_->mu());
    FM_ASSIGN_OR_RETURN(Stmt s, db_->Prepare(sql, op));
    s.BindAll(args...);
    std::vector<T> out;
    for (;;) {
      FM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      FM_ASSIGN_OR_RETURN(T value, read(s));
      out.push_back(std::move(value));
    }
  }

  std::unique_ptr<Db> db_;
};

#undef FM_WINDOW_COLS
#undef FM_FILE_COLS
#undef FM_JOB_COLS
#undef FM_FAILURE_COLS

}  // namespace

namespace internal {

Db* SqliteDbOf(StateStore& store) {
  auto* sqlite = dynamic_cast<SqliteStateStore*>(&store);
  return sqlite != nullptr ? sqlite->db() : nullptr;
}

}  // namespace internal

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const SqliteOptions& options) {
  FM_ASSIGN_OR_RETURN(auto db,
                      Db::Open({options.path, options.read_only, options.busy_timeout_ms}));
  return std::unique_ptr<StateStore>(std::make_unique<SqliteStateStore>(std::move(db)));
}

}  // namespace fm::store
