// The state file on disk: schema versions, permissions, WAL readers, errors.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "store/sqlite_db.h"
#include "store/state_store.h"
#include "store/store_test_util.h"

namespace fm::store {
namespace {

using base::ErrorKind;
using testing::MakeWindow;
using testing::RawQuery;

uint32_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The newest schema version: the last of the migrations.
const int kLatest = internal::SchemaMigrations().back().version;

TEST(SqliteFileTest, SchemaVersionIsRecordedAndReopeningKeepsData) {
  std::string path = testing::TempDir() + "/state.db";
  {
    auto store = testing::OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), kLatest);
    ASSERT_TRUE(store->AddWindow(MakeWindow(0, 10)).ok());
  }
  EXPECT_EQ(RawQuery(path, "SELECT max(version) FROM schema_version"), std::to_string(kLatest));
  auto store = testing::OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ListWindows()->size(), 1u);
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM schema_version"), std::to_string(kLatest));
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

// Version 4 keeps the history of attempts to deliver a failed resource. A
// version 3 file with failures opens with each failure's refusal as its
// first attempt, and a resolved one keeps being resolved.
TEST(SqliteFileTest, AVersion3FileGainsTheFailureHistoryOfItsFailures) {
  std::string path = testing::TempDir() + "/state.db";
  {
    auto v3 = internal::Db::Open({path}, internal::SchemaMigrations().first(3));
    ASSERT_TRUE(v3.ok()) << v3.error().ToString();
    EXPECT_EQ((*v3)->schema_version(), 3);
  }
  RawQuery(path,
           "INSERT INTO failures (window_id, stage, resource_type, resource_id, http_status, "
           "reason, resolved, at) VALUES (4, 'load', 'Patient', 'p1', 400, 'bad name', 0, 1000), "
           "(4, 'load', 'Patient', 'p2', 422, 'bad date', 1, 2000)");
  auto store = testing::OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), kLatest);
  auto failures = store->ListFailures(true, SIZE_MAX);
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 2u);
  auto first = store->ListFailureAttempts((*failures)[0].id);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].outcome, "failed");
  EXPECT_EQ((*first)[0].http_status, 400);
  EXPECT_EQ((*first)[0].reason, "bad name");
  EXPECT_EQ((*first)[0].at, base::FromEpochMillis(1000));
  EXPECT_FALSE((*failures)[0].resolved_at.has_value());
  EXPECT_TRUE((*failures)[1].resolved);
  EXPECT_EQ((*failures)[1].resolved_at, base::FromEpochMillis(2000));
}

TEST(SqliteFileTest, OlderSchemaIsMigratedForwardKeepingData) {
  static const internal::Migration v1[] = {{1, "CREATE TABLE t (x INTEGER)"}};
  static const internal::Migration v3[] = {{1, "CREATE TABLE t (x INTEGER)"},
                                           {2, "ALTER TABLE t ADD COLUMN y INTEGER DEFAULT 7"},
                                           {3, "CREATE TABLE u (z TEXT)"}};
  std::string path = testing::TempDir() + "/state.db";
  {
    auto db = internal::Db::Open({path}, v1);
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    EXPECT_EQ((*db)->schema_version(), 1);
  }
  RawQuery(path, "INSERT INTO t (x) VALUES (42)");
  auto db = internal::Db::Open({path}, v3);
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  EXPECT_EQ((*db)->schema_version(), 3);
  EXPECT_EQ(RawQuery(path, "SELECT x + y FROM t"), "49");
  EXPECT_EQ(RawQuery(path, "SELECT group_concat(version) FROM schema_version"), "1,2,3");
}

TEST(SqliteFileTest, FailedMigrationLeavesTheOldSchemaWhole) {
  static const internal::Migration v1[] = {{1, "CREATE TABLE t (x INTEGER)"}};
  static const internal::Migration broken[] = {{1, "CREATE TABLE t (x INTEGER)"},
                                               {2, "CREATE TABLE u (z TEXT)"},
                                               {3, "ALTER TABLE missing ADD COLUMN q"}};
  std::string path = testing::TempDir() + "/state.db";
  ASSERT_TRUE(internal::Db::Open({path}, v1).ok());
  auto db = internal::Db::Open({path}, broken);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(Contains(db.error().message, "migrate schema to version 3")) << db.error().message;
  EXPECT_EQ(RawQuery(path, "SELECT max(version) FROM schema_version"), "1");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM sqlite_master WHERE name = 'u'"), "0");
}

TEST(SqliteFileTest, FutureSchemaVersionIsRefused) {
  std::string path = testing::TempDir() + "/state.db";
  ASSERT_NE(testing::OpenOrDie(path), nullptr);
  ASSERT_EQ(RawQuery(path, "INSERT INTO schema_version (version) VALUES (99)"), "");
  for (bool read_only : {false, true}) {
    auto store = OpenSqliteStateStore({path, read_only});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().kind, ErrorKind::kStorage);
    EXPECT_TRUE(Contains(store.error().message, "schema version 99")) << store.error().message;
    EXPECT_TRUE(Contains(store.error().message, "newer")) << store.error().message;
  }
  EXPECT_EQ(RawQuery(path, "SELECT max(version) FROM schema_version"), "99");  // untouched
}

TEST(SqliteFileTest, ReadOnlyOpenNeedsACurrentSchemaAndNeverCreatesOne) {
  std::string dir = testing::TempDir();
  auto missing = OpenSqliteStateStore({dir + "/missing.db", /*read_only=*/true});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.error().message, "cannot open")) << missing.error().message;
  EXPECT_EQ(ModeOf(dir + "/missing.db"), 0u);

  RawQuery(dir + "/other.db", "CREATE TABLE x (y)");
  auto empty = OpenSqliteStateStore({dir + "/other.db", true});
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(Contains(empty.error().message, "no fhir-migrate state")) << empty.error().message;

  // A schema older than the binary's: only a read-write open may migrate it.
  ASSERT_NE(testing::OpenOrDie(dir + "/v1.db"), nullptr);
  std::vector<internal::Migration> newer(internal::SchemaMigrations().begin(),
                                         internal::SchemaMigrations().end());
  newer.push_back({static_cast<int>(newer.size()) + 1, "CREATE TABLE extra (x)"});
  auto old = internal::Db::Open({dir + "/v1.db", true}, newer);
  ASSERT_FALSE(old.ok());
  EXPECT_TRUE(Contains(old.error().message, "older")) << old.error().message;
}

// docs/state-store.md promises WAL with synchronous=FULL (a commit returns
// only once the WAL is fsynced, so an acknowledged commit survives a power
// cut) and foreign_keys=ON. Pragmas belong to a connection, so the store's
// own connection is asked, not a second one with its own defaults.
TEST(SqliteFileTest, TheStoresOwnConnectionRunsWalWithSynchronousFull) {
  std::string path = testing::TempDir() + "/state.db";
  auto store = testing::OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  internal::Db* db = internal::SqliteDbOf(*store);
  ASSERT_NE(db, nullptr);
  std::lock_guard lock(db->mu());
  auto ask = [&](const char* sql) -> std::string {
    auto stmt = db->Prepare(sql, "pragma");
    EXPECT_TRUE(stmt.ok());
    if (!stmt.ok()) return "";
    auto row = stmt->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return row.ok() && *row ? stmt->Text(0) : "";
  };
  EXPECT_EQ(ask("PRAGMA synchronous"), "2");  // FULL (NORMAL is 1)
  EXPECT_EQ(ask("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(ask("PRAGMA foreign_keys"), "1");
}

TEST(SqliteFileTest, StateFilesAreOwnerOnly) {
  std::string dir = testing::TempDir();
  std::string path = dir + "/state.db";
  auto store = testing::OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AddWindow(MakeWindow(0, 10)).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(path + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(path + "-shm"), 0600u);

  // A file made readable by others (by hand, or an old version) is tightened.
  std::string loose = dir + "/loose.db";
  std::ofstream(loose).close();
  ASSERT_EQ(::chmod(loose.c_str(), 0644), 0);
  ASSERT_NE(testing::OpenOrDie(loose), nullptr);
  EXPECT_EQ(ModeOf(loose), 0600u);
}

TEST(SqliteFileTest, ReadOnlyStoreSeesCommittedDataWhileTheWriterIsOpen) {
  std::string path = testing::TempDir() + "/state.db";
  auto writer = testing::OpenOrDie(path);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->AddWindow(MakeWindow(0, 10)).ok());
  auto reader = testing::OpenOrDie(path, /*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->ListWindows()->size(), 1u);

  auto st = writer->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(writer->AddWindow(MakeWindow(10, 20)));
    // WAL: the reader is not blocked and sees the last committed state only.
    auto seen = reader->ListWindows();
    EXPECT_TRUE(seen.ok());
    if (seen.ok()) {
      EXPECT_EQ(seen->size(), 1u);
    }
    return base::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(reader->ListWindows()->size(), 2u);
  EXPECT_EQ(reader->GetMigration()->fingerprint, "");  // no row yet: no write attempted

  auto write = reader->PutMeta("k", "v");
  ASSERT_FALSE(write.ok());
  EXPECT_TRUE(Contains(write.error().message, "PutMeta")) << write.error().message;
}

TEST(SqliteFileTest, ReadOnlyTransactionReadsOneSnapshot) {
  std::string path = testing::TempDir() + "/state.db";
  auto writer = testing::OpenOrDie(path);
  auto reader = testing::OpenOrDie(path, /*read_only=*/true);
  ASSERT_TRUE(writer && reader);
  ASSERT_TRUE(writer->AddWindow(MakeWindow(0, 10)).ok());
  auto st = reader->Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(auto before, reader->ListWindows());
    FM_TRY_STATUS(writer->AddWindow(MakeWindow(10, 20)));  // commits meanwhile
    FM_ASSIGN_OR_RETURN(auto after, reader->ListWindows());
    EXPECT_EQ(before.size(), 1u);
    EXPECT_EQ(after.size(), 1u);  // `status` shows one consistent state
    return base::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(reader->ListWindows()->size(), 2u);
}

TEST(SqliteFileTest, ReadOnlyStoreOpensAfterTheWriterHasClosed) {
  std::string path = testing::TempDir() + "/state.db";
  {
    auto writer = testing::OpenOrDie(path);
    ASSERT_NE(writer, nullptr);
    ASSERT_TRUE(writer->AddWindow(MakeWindow(0, 10)).ok());
  }
  auto reader = testing::OpenOrDie(path, /*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->ListWindows()->size(), 1u);
}

TEST(SqliteFileTest, SecondWriterIsToldTheFileIsLockedWhileTheFirstHoldsTheLock) {
  std::string path = testing::TempDir() + "/state.db";
  auto first = testing::OpenOrDie(path);
  ASSERT_NE(first, nullptr);
  auto second = OpenSqliteStateStore({path, false, /*busy_timeout_ms=*/0});
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  auto st = first->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(first->PutMeta("a", "1"));
    auto busy = (*second)->PutMeta("b", "2");
    EXPECT_FALSE(busy.ok());
    if (!busy.ok()) {
      EXPECT_EQ(busy.error().kind, ErrorKind::kLocked);
      EXPECT_TRUE(Contains(busy.error().message, "busy")) << busy.error().message;
    }
    return base::Ok();
  });
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE((*second)->PutMeta("b", "2").ok());
}

TEST(SqliteFileTest, GarbageFileIsReportedAsCorrupt) {
  std::string path = testing::TempDir() + "/state.db";
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) out << "this is not a database file at all\n";
  }
  auto store = OpenSqliteStateStore({path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().kind, ErrorKind::kStorage);
  EXPECT_TRUE(Contains(store.error().message, "state file " + path + " is corrupt"))
      << store.error().message;
}

TEST(SqliteFileTest, MissingDirectoryIsAClearError) {
  auto store = OpenSqliteStateStore({"/nonexistent/fm/state.db"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().kind, ErrorKind::kStorage);
  EXPECT_TRUE(Contains(store.error().message, "/nonexistent/fm/state.db")) << store.error().message;
}

TEST(FromSqliteResultTest, MapsKinds) {
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_BUSY, "f", "x").kind, ErrorKind::kLocked);
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_LOCKED, "f", "x").kind, ErrorKind::kLocked);
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_BUSY_SNAPSHOT, "f", "x").kind, ErrorKind::kLocked);
  auto corrupt = internal::FromSqliteResult(SQLITE_CORRUPT, "/a/s.db", "ListWindows: malformed");
  EXPECT_EQ(corrupt.kind, ErrorKind::kStorage);
  EXPECT_TRUE(Contains(corrupt.message, "state file /a/s.db is corrupt"));
  EXPECT_TRUE(Contains(corrupt.message, "ListWindows"));
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_NOTADB, "f", "x").kind, ErrorKind::kStorage);
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_IOERR, "f", "x").kind, ErrorKind::kStorage);
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_FULL, "f", "x").kind, ErrorKind::kStorage);
  EXPECT_EQ(internal::FromSqliteResult(SQLITE_CONSTRAINT_FOREIGNKEY, "f", "x").kind,
            ErrorKind::kFatal);
}

}  // namespace
}  // namespace fm::store
