#include "store/hash_spill.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>

namespace fm::store {
namespace {

constexpr int kRowsPerTransaction = 5000;

base::Error SqlError(sqlite3* db, const std::string& what) {
  return base::MakeError(base::ErrorKind::kStorage,
                         "verify spill file: " + what + ": " + (db ? sqlite3_errmsg(db) : "?"));
}

}  // namespace

struct HashSpill::Impl {
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  int pending = 0;
  bool in_tx = false;

  ~Impl() {
    if (insert) sqlite3_finalize(insert);
    if (db) sqlite3_close(db);
  }
  base::Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : "?";
      sqlite3_free(err);
      return base::MakeError(base::ErrorKind::kStorage, "verify spill file: " + message);
    }
    return base::Ok();
  }
};

base::Result<std::unique_ptr<HashSpill>> HashSpill::Create(const std::string& dir) {
  std::string base = dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string pattern = base + "/fhir-migrate-verify-XXXXXX";
  int fd = mkstemp(pattern.data());
  if (fd < 0) {
    return base::MakeError(base::ErrorKind::kStorage,
                           "cannot create a verify spill file in " + base);
  }
  close(fd);
  std::unique_ptr<HashSpill> spill(new HashSpill());
  spill->path_ = pattern;
  spill->impl_ = std::make_unique<Impl>();
  Impl& impl = *spill->impl_;
  if (sqlite3_open(pattern.c_str(), &impl.db) != SQLITE_OK) return SqlError(impl.db, "open");
  // Throw-away data: no journal, no fsync. The page cache is the only part of
  // the full check whose memory follows the number of resources (it fills up
  // to its cap as the file grows), so the cap is small: 2 MB keeps the
  // interior pages of the key b-tree hot; leaf pages come from the OS page
  // cache. The report's queries walk the primary key in order (no temporary
  // b-tree, no sort), so they need no more.
  FM_TRY_STATUS(
      impl.Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;"
                "PRAGMA temp_store=FILE;"
                "CREATE TABLE h (side INTEGER NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,"
                " hash TEXT NOT NULL, PRIMARY KEY (side, type, id)) WITHOUT ROWID;"));
  if (sqlite3_prepare_v2(impl.db, "INSERT OR REPLACE INTO h VALUES (?, ?, ?, ?)", -1, &impl.insert,
                         nullptr) != SQLITE_OK) {
    return SqlError(impl.db, "prepare");
  }
  return spill;
}

HashSpill::~HashSpill() {
  impl_.reset();
  if (!path_.empty()) unlink(path_.c_str());
}

base::Status HashSpill::Add(Side side, const std::string& type, const std::string& id,
                            const std::string& hash) {
  Impl& impl = *impl_;
  if (!impl.in_tx) {
    FM_TRY_STATUS(impl.Exec("BEGIN"));
    impl.in_tx = true;
  }
  sqlite3_bind_int(impl.insert, 1, static_cast<int>(side));
  sqlite3_bind_text(impl.insert, 2, type.data(), static_cast<int>(type.size()), SQLITE_STATIC);
  sqlite3_bind_text(impl.insert, 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_text(impl.insert, 4, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
  int rc = sqlite3_step(impl.insert);
  sqlite3_reset(impl.insert);
  sqlite3_clear_bindings(impl.insert);
  if (rc != SQLITE_DONE) return SqlError(impl.db, "insert");
  if (++impl.pending >= kRowsPerTransaction) return Flush();
  return base::Ok();
}

base::Status HashSpill::Flush() {
  Impl& impl = *impl_;
  impl.pending = 0;
  if (!impl.in_tx) return base::Ok();
  impl.in_tx = false;
  return impl.Exec("COMMIT");
}

base::Status HashSpill::Clear(Side side) {
  FM_TRY_STATUS(Flush());
  std::string sql = "DELETE FROM h WHERE side = " + std::to_string(static_cast<int>(side));
  return impl_->Exec(sql.c_str());
}

base::Result<std::map<std::string, int64_t>> HashSpill::CountByType(Side side) {
  FM_TRY_STATUS(Flush());
  sqlite3_stmt* stmt = nullptr;
  // Walks the primary key (side, type, id) in order: no temporary b-tree.
  if (sqlite3_prepare_v2(impl_->db, "SELECT type, count(*) FROM h WHERE side = ? GROUP BY type", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    return SqlError(impl_->db, "prepare");
  }
  sqlite3_bind_int(stmt, 1, static_cast<int>(side));
  std::map<std::string, int64_t> counts;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char* type = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    counts[type] = sqlite3_column_int64(stmt, 1);
  }
  base::Status status = rc == SQLITE_DONE ? base::Ok() : base::Status(SqlError(impl_->db, "count"));
  sqlite3_finalize(stmt);
  FM_TRY_STATUS(std::move(status));
  return counts;
}

base::Status HashSpill::ForEach(Kind kind, const RowVisitor& visit) {
  FM_TRY_STATUS(Flush());
  const char* sql = nullptr;
  switch (kind) {
    case Kind::kMissing:
      sql =
          "SELECT s.type, s.id FROM h s WHERE s.side = 0 AND NOT EXISTS "
          "(SELECT 1 FROM h d WHERE d.side = 1 AND d.type = s.type AND d.id = s.id) "
          "ORDER BY s.type, s.id";
      break;
    case Kind::kExtra:
      sql =
          "SELECT d.type, d.id FROM h d WHERE d.side = 1 AND NOT EXISTS "
          "(SELECT 1 FROM h s WHERE s.side = 0 AND s.type = d.type AND s.id = d.id) "
          "ORDER BY d.type, d.id";
      break;
    case Kind::kDifferent:
      sql =
          "SELECT s.type, s.id FROM h s JOIN h d ON d.side = 1 AND d.type = s.type AND "
          "d.id = s.id WHERE s.side = 0 AND s.hash <> d.hash ORDER BY s.type, s.id";
      break;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return SqlError(impl_->db, "prepare");
  }
  base::Status status = base::Ok();
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string type(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    std::string id(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
    status = visit(type, id);
    if (!status.ok()) break;
  }
  if (status.ok() && rc != SQLITE_DONE) status = SqlError(impl_->db, "query");
  sqlite3_finalize(stmt);
  return status;
}

}  // namespace fm::store
