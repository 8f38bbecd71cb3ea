// Internal to src/store: one SQLite connection with its statement cache, the
// translation of SQLite result codes into base::Error, transactions, and the
// versioned schema with its forward migrations. Only sqlite_db.cc includes
// sqlite3.h. Not part of the module's public interface.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/result.h"
#include "base/time.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fm::store {
class StateStore;
}  // namespace fm::store

namespace fm::store::internal {

// One forward migration: turns a version-1 schema into `version`. Released
// entries are never edited; a schema change appends a new one.
struct Migration {
  int version;
  const char* sql;  // one or more statements
};

// This binary's migrations, oldest first; the last one's version is the
// schema version it creates and understands.
std::span<const Migration> SchemaMigrations();

// The one place SQLite result codes become errors. `path` names the state file,
// `context` says what was being done ("AddWindow: <sqlite message>").
// SQLITE_BUSY/LOCKED -> kLocked; CORRUPT/NOTADB -> kStorage "state file X is
// corrupt"; CONSTRAINT/MISUSE/RANGE (a bug) -> kFatal; everything else ->
// kStorage.
base::Error FromSqliteResult(int rc, std::string_view path, std::string_view context);

class Db;

// A prepared statement borrowed from Db's cache. Binding is positional from 1;
// a failed bind is reported by the next Step/Run. Resets (and unbinds) itself
// on destruction so the cached statement is ready for the next user.
// REQUIRES: the caller holds Db::mu() for the Stmt's whole life.
class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* stmt, std::string_view op) : db_(db), stmt_(stmt), op_(op) {}
  Stmt(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& BindInt(int index, int64_t value);
  Stmt& BindText(int index, std::string_view value);
  Stmt& BindNull(int index);
  Stmt& Bind(int index, const std::string& value) { return BindText(index, value); }
  Stmt& Bind(int index, std::string_view value) { return BindText(index, value); }
  Stmt& Bind(int index, const char* value) { return BindText(index, value); }
  Stmt& Bind(int index, base::Instant value) { return BindInt(index, base::ToEpochMillis(value)); }
  Stmt& Bind(int index, const std::optional<base::Instant>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }
  template <typename T>
  requires std::is_integral_v<T> Stmt& Bind(int index, T value) {
    return BindInt(index, static_cast<int64_t>(value));
  }
  // Binds the arguments to parameters 1..N in order.
  template <typename... Args>
  Stmt& BindAll(const Args&... args) {
    int index = 0;
    (Bind(++index, args), ...);
    (void)index;  // unused when there are no arguments
    return *this;
  }

  // Advances one row: true when a row is available, false when done.
  base::Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  base::Status Run();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  bool Bool(int col) const { return Int(col) != 0; }
  std::string Text(int col) const;
  base::Instant Time(int col) const { return base::FromEpochMillis(Int(col)); }
  std::optional<base::Instant> OptTime(int col) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_;
  std::string_view op_;  // static strings only (method names)
  int bind_rc_ = 0;      // first failed bind, reported by Step
};

struct DbOptions {
  std::string path;
  bool read_only = false;
  int busy_timeout_ms = 10'000;
};

class Db {
 public:
  // Opens the connection, applies the pragmas, restricts the files to 0600 and
  // (read-write only) migrates the schema forward, all pending migrations in
  // one transaction. Read-only refuses a missing, older or newer schema;
  // read-write refuses only a newer one. `migrations` is replaceable for tests.
  static base::Result<std::unique_ptr<Db>> Open(
      const DbOptions& options, std::span<const Migration> migrations = SchemaMigrations());
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Guards the connection and the statement cache. Recursive so that methods
  // called inside Transaction's fn on the same thread can lock it again.
  std::recursive_mutex& mu() { return mu_; }

  // Returns a cached prepared statement for `sql` (one statement). `op` names
  // the operation for error messages and must outlive the Stmt (a literal).
  // REQUIRES: mu() held.
  base::Result<Stmt> Prepare(std::string_view sql, std::string_view op);

  // BEGIN IMMEDIATE (BEGIN in read-only mode) ... COMMIT, ROLLBACK when fn
  // fails. Nested calls join the outer transaction; a failing inner call dooms
  // the outer one, which then rolls back even if its fn returns Ok.
  base::Status Transaction(const std::function<base::Status()>& fn);

  int64_t LastInsertId();
  int Changes();
  bool read_only() const { return options_.read_only; }
  int schema_version() const { return schema_version_; }
  const std::string& path() const { return options_.path; }

  // The error for `rc` with the connection's message, prefixed by `op`.
  base::Error Fail(int rc, std::string_view op);

 private:
  Db(DbOptions options, std::span<const Migration> migrations)
      : options_(std::move(options)), migrations_(migrations) {}
  int latest() const { return migrations_.back().version; }
  base::Error FutureSchema(int found) const;
  base::Status Exec(const char* sql, std::string_view op);
  base::Status Configure();
  base::Status RestrictFileModes();
  base::Result<int> ReadSchemaVersion();
  base::Status CheckReadableSchema();
  base::Status MigrateForward();
  base::Status End(bool commit, std::string_view op);

  DbOptions options_;
  std::span<const Migration> migrations_;  // non-empty, static storage
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
  int depth_ = 0;        // nesting of Transaction calls on the owning thread
  bool doomed_ = false;  // an inner Transaction failed: the outer one rolls back
  base::Error doom_error_;
  int schema_version_ = 0;
};

// The connection of a store opened by OpenSqliteStateStore, or nullptr for
// any other StateStore: lets a test ask that connection itself what it runs
// with (pragmas are per connection; a second one reports its own).
Db* SqliteDbOf(StateStore& store);

}  // namespace fm::store::internal
