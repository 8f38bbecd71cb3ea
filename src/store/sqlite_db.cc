#include "store/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fm::store::internal {
namespace {

using base::ErrorKind;
using base::MakeError;
using base::Result;
using base::Status;

bool IsMemoryPath(const std::string& path) { return path.empty() || path == ":memory:"; }

// Creates the file owner-only before SQLite does, so it is never readable by
// others, not even for an instant. SQLite gives -wal and -shm the same mode.
Status CreateOwnerOnly(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorKind::kStorage,
                     "cannot create state file " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return base::Ok();
}

}  // namespace

base::Error FromSqliteResult(int rc, std::string_view path, std::string_view context) {
  std::string file = "state file " + std::string(path);
  std::string ctx(context);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return MakeError(ErrorKind::kLocked,
                       file + " is busy (another process holds its lock): " + ctx);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return MakeError(ErrorKind::kStorage, file + " is corrupt (" + ctx +
                                                "); restore it from a backup or start a new one");
    case SQLITE_CANTOPEN:
      return MakeError(ErrorKind::kStorage, "cannot open " + file + ": " + ctx);
    case SQLITE_FULL:
      return MakeError(ErrorKind::kStorage, "disk full writing " + file + ": " + ctx);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      // A write the schema refuses is a bug in fhir-migrate, not the disk's.
      return MakeError(ErrorKind::kFatal, file + ": " + ctx);
    case SQLITE_READONLY:
      return MakeError(ErrorKind::kStorage, file + " is read-only here: " + ctx);
    default:
      return MakeError(ErrorKind::kStorage, file + ": " + ctx);
  }
}

// ---- Stmt ----

Stmt::Stmt(Stmt&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), op_(other.op_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindText(int index, std::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) return db_->Fail(bind_rc_, op_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Fail(rc, op_);
}

Status Stmt::Run() {
  for (;;) {
    FM_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return base::Ok();
  }
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::Text(int col) const {
  const auto* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<base::Instant> Stmt::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

// ---- Db ----

Result<std::unique_ptr<Db>> Db::Open(const DbOptions& options,
                                     std::span<const Migration> migrations) {
  if (migrations.empty()) return MakeError(ErrorKind::kFatal, "no schema migrations");
  std::unique_ptr<Db> db(new Db(options, migrations));
  const bool memory = IsMemoryPath(options.path);
  if (!options.read_only && !memory) FM_TRY_STATUS(CreateOwnerOnly(options.path));
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;  // mu_ serialises every use of the connection
  int rc = sqlite3_open_v2(options.path.c_str(), &db->db_, flags, nullptr);
  if (rc != SQLITE_OK) return db->Fail(rc, "open");
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, options.busy_timeout_ms);
  FM_TRY_STATUS(db->Configure());
  if (options.read_only) {
    FM_TRY_STATUS(db->CheckReadableSchema());
  } else {
    FM_TRY_STATUS(db->MigrateForward());
    if (!memory) FM_TRY_STATUS(db->RestrictFileModes());
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  // The last connection to close checkpoints the WAL and removes -wal/-shm.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

base::Error Db::Fail(int rc, std::string_view op) {
  std::string context(op);
  context += ": ";
  context += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return FromSqliteResult(rc, options_.path, context);
}

Status Db::Exec(const char* sql, std::string_view op) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Fail(rc, op);
  return base::Ok();
}

Status Db::Configure() {
  if (options_.read_only) return Exec("PRAGMA query_only = ON", "configure");
  // journal_mode answers with the mode in force; ":memory:" stays "memory".
  FM_ASSIGN_OR_RETURN(Stmt wal, Prepare("PRAGMA journal_mode = WAL", "enable WAL"));
  FM_ASSIGN_OR_RETURN(bool row, wal.Step());
  std::string mode = row ? wal.Text(0) : "";
  if (mode != "wal" && !IsMemoryPath(options_.path)) {
    return MakeError(ErrorKind::kStorage,
                     "state file " + options_.path + " cannot use WAL mode (got '" + mode + "')");
  }
  return Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure");
}

Status Db::RestrictFileModes() {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string file = options_.path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return MakeError(ErrorKind::kStorage, "cannot stat " + file + ": " + std::strerror(errno));
    }
    if ((st.st_mode & 0777) != 0600 && ::chmod(file.c_str(), 0600) != 0) {
      return MakeError(ErrorKind::kStorage,
                       "cannot make " + file + " owner-only (0600): " + std::strerror(errno));
    }
  }
  return base::Ok();
}

Result<int> Db::ReadSchemaVersion() {
  FM_ASSIGN_OR_RETURN(Stmt has, Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                        "AND name = 'schema_version'",
                                        "read schema version"));
  FM_ASSIGN_OR_RETURN(bool row, has.Step());
  if (!row || has.Int(0) == 0) return 0;
  FM_ASSIGN_OR_RETURN(Stmt max, Prepare("SELECT coalesce(max(version), 0) FROM schema_version",
                                        "read schema version"));
  FM_ASSIGN_OR_RETURN(row, max.Step());
  return row ? static_cast<int>(max.Int(0)) : 0;
}

base::Error Db::FutureSchema(int found) const {
  return MakeError(ErrorKind::kStorage,
                   "state file " + options_.path + " has schema version " + std::to_string(found) +
                       ", newer than version " + std::to_string(latest()) +
                       " known to this fhir-migrate; use the newer fhir-migrate that wrote it");
}

Status Db::CheckReadableSchema() {
  FM_ASSIGN_OR_RETURN(int found, ReadSchemaVersion());
  const int target = latest();
  if (found == 0) {
    return MakeError(ErrorKind::kStorage, "state file " + options_.path +
                                              " holds no fhir-migrate state yet (no schema); "
                                              "`fhir-migrate run` creates it");
  }
  if (found > target) return FutureSchema(found);
  if (found < target) {
    return MakeError(ErrorKind::kStorage,
                     "state file " + options_.path + " has schema version " +
                         std::to_string(found) + ", older than version " + std::to_string(target) +
                         "; a read-only open cannot migrate it: run `fhir-migrate run` once");
  }
  schema_version_ = found;
  return base::Ok();
}

Status Db::MigrateForward() {
  const int target = latest();
  FM_ASSIGN_OR_RETURN(int found, ReadSchemaVersion());
  if (found > target) return FutureSchema(found);
  if (found < target) {
    FM_TRY_STATUS(Transaction([&]() -> Status {
      FM_TRY_STATUS(
          Exec("CREATE TABLE IF NOT EXISTS schema_version ("
               "version INTEGER PRIMARY KEY)",
               "create schema_version"));
      // Another process may have migrated between our read and our lock.
      FM_ASSIGN_OR_RETURN(int current, ReadSchemaVersion());
      if (current > target) return FutureSchema(current);
      for (const Migration& m : migrations_) {
        if (m.version <= current) continue;
        std::string op = "migrate schema to version " + std::to_string(m.version);
        int rc = sqlite3_exec(db_, m.sql, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return Fail(rc, op);
        FM_ASSIGN_OR_RETURN(Stmt ins,
                            Prepare("INSERT INTO schema_version (version) VALUES (?)", "migrate"));
        FM_TRY_STATUS(ins.BindAll(m.version).Run());
      }
      return base::Ok();
    }));
  }
  schema_version_ = target;
  return base::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql, std::string_view op) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Fail(rc, op);
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Stmt(this, it->second, op);
}

int64_t Db::LastInsertId() { return sqlite3_last_insert_rowid(db_); }

int Db::Changes() { return sqlite3_changes(db_); }

Status Db::End(bool commit, std::string_view op) {
  // Some errors (SQLITE_FULL, IOERR, ...) already rolled the transaction back.
  if (sqlite3_get_autocommit(db_) != 0) {
    if (!commit) return base::Ok();
    return MakeError(ErrorKind::kStorage, "state file " + options_.path + ": " + std::string(op) +
                                              ": the transaction was already rolled back");
  }
  Status st = Exec(commit ? "COMMIT" : "ROLLBACK", op);
  if (!st.ok() && commit && sqlite3_get_autocommit(db_) == 0) {
    (void)Exec("ROLLBACK", "rollback after failed commit");
  }
  return st;
}

Status Db::Transaction(const std::function<Status()>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (depth_ > 0) {  // join the outer transaction
    ++depth_;
    Status st = fn();
    --depth_;
    if (!st.ok() && !doomed_) {
      doomed_ = true;
      doom_error_ = st.error();
    }
    return st;
  }
  FM_TRY_STATUS(Exec(options_.read_only ? "BEGIN" : "BEGIN IMMEDIATE", "begin transaction"));
  depth_ = 1;
  doomed_ = false;
  Status st;
  try {
    st = fn();
  } catch (...) {  // a programming error: leave the connection usable, then rethrow
    depth_ = 0;
    doomed_ = false;
    (void)End(false, "rollback");
    throw;
  }
  depth_ = 0;
  if (st.ok() && doomed_) {
    st = MakeError(doom_error_.kind,
                   "transaction rolled back because a nested one failed: " + doom_error_.message);
  }
  doomed_ = false;
  if (!st.ok()) {
    (void)End(false, "rollback");
    return st;
  }
  return End(true, "commit");
}

}  // namespace fm::store::internal
