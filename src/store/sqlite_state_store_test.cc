// Record round trips and transaction semantics of the SQLite state store.
#include <gtest/gtest.h>

#include "store/state_store.h"
#include "store/store_test_util.h"

namespace fm::store {
namespace {

using base::ErrorKind;
using testing::At;
using testing::MakeWindow;

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "/state.db";
    store_ = testing::OpenOrDie(path_);
    ASSERT_NE(store_, nullptr);
  }

  int64_t AddWindow(int64_t since, int64_t till, const std::string& type = "") {
    auto id = store_->AddWindow(MakeWindow(since, till, type));
    EXPECT_TRUE(id.ok()) << id.error().ToString();
    return id.ok() ? *id : 0;
  }

  std::string path_;
  std::unique_ptr<StateStore> store_;
};

TEST_F(SqliteStateStoreTest, MigrationRowIsCreatedOnFirstReadAndRoundTrips) {
  auto fresh = store_->GetMigration();
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->fingerprint, "");
  EXPECT_FALSE(fresh->watermark.has_value());
  EXPECT_EQ(testing::RawQuery(path_, "SELECT count(*) FROM migration"), "1");

  MigrationState m{"fp1", At(1000), At(2000), At(3000), true, "window 3 failed", true};
  ASSERT_TRUE(store_->PutMigration(m).ok());
  auto got = store_->GetMigration();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->fingerprint, "fp1");
  EXPECT_EQ(got->start, At(1000));
  EXPECT_EQ(got->watermark, At(2000));
  EXPECT_EQ(got->last_success_at, At(3000));
  EXPECT_TRUE(got->halted);
  EXPECT_EQ(got->halt_reason, "window 3 failed");
  EXPECT_TRUE(got->conformance_copied);

  m.watermark.reset();  // optional instants go back to NULL
  ASSERT_TRUE(store_->PutMigration(m).ok());
  EXPECT_FALSE(store_->GetMigration()->watermark.has_value());
  EXPECT_EQ(testing::RawQuery(path_, "SELECT watermark FROM migration"), "NULL");
}

TEST_F(SqliteStateStoreTest, WindowRoundTripsEveryField) {
  Window w = MakeWindow(1'600'000'000'123, 1'600'086'400'123, "Patient");
  w.status = WindowStatus::kExtracting;
  w.attempts = 2;
  w.export_url = "https://src/export/7";
  w.manifest_json = R"({"output":[]})";
  w.transaction_time = At(1'600'000'100'000);
  w.resources_extracted = 10;
  w.resources_loaded = 9;
  w.resources_failed = 1;
  w.last_error = "transient: 503";
  w.not_before = At(1'700'000'000'000);
  w.updated_at = At(1'650'000'000'000);
  w.started_at = At(1'649'999'000'000);
  w.expected = 12;
  auto id = store_->AddWindow(w);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  w.id = *id;

  auto got = store_->GetWindow(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, w.id);
  EXPECT_EQ(got->since, w.since);
  EXPECT_EQ(got->till, w.till);
  EXPECT_EQ(got->resource_type, "Patient");
  EXPECT_EQ(got->status, WindowStatus::kExtracting);
  EXPECT_EQ(got->attempts, 2);
  EXPECT_EQ(got->export_url, w.export_url);
  EXPECT_EQ(got->manifest_json, w.manifest_json);
  EXPECT_EQ(got->transaction_time, w.transaction_time);
  EXPECT_EQ(got->resources_extracted, 10);
  EXPECT_EQ(got->resources_loaded, 9);
  EXPECT_EQ(got->resources_failed, 1);
  EXPECT_EQ(got->last_error, w.last_error);
  EXPECT_EQ(got->not_before, w.not_before);
  EXPECT_EQ(got->updated_at, w.updated_at);
  EXPECT_EQ(got->started_at, w.started_at);
  EXPECT_EQ(got->expected, 12);
  // Stored as epoch milliseconds and readable names.
  EXPECT_EQ(testing::RawQuery(path_, "SELECT since FROM windows"), "1600000000123");
  EXPECT_EQ(testing::RawQuery(path_, "SELECT status FROM windows"), "extracting");

  w.status = WindowStatus::kLoaded;
  w.transaction_time.reset();
  w.not_before.reset();
  w.started_at = At(1'660'000'000'000);
  w.expected = 30;
  ASSERT_TRUE(store_->UpdateWindow(w).ok());
  got = store_->GetWindow(*id);
  EXPECT_EQ(got->status, WindowStatus::kLoaded);
  EXPECT_FALSE(got->transaction_time.has_value());
  EXPECT_FALSE(got->not_before.has_value());
  EXPECT_EQ(got->started_at, w.started_at);
  EXPECT_EQ(got->expected, 30);
  // A window never counted nor started reads back so.
  auto bare = store_->GetWindow(AddWindow(5, 6));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->started_at.has_value());
  EXPECT_EQ(bare->expected, -1);
}

TEST_F(SqliteStateStoreTest, StagedBytesCountsOutputFilesAwaitingLoadOnly) {
  int64_t w1 = AddWindow(0, 10), w2 = AddWindow(10, 20);
  auto add = [&](int64_t window, int64_t bytes, FileStatus status, const char* kind) {
    FileRecord f{0, window, "Patient", "u", "p", 1, bytes, 1, 0, status, kind};
    ASSERT_TRUE(store_->AddFile(f).ok());
  };
  ASSERT_EQ(*store_->StagedBytes(), 0);
  add(w1, 100, FileStatus::kStaged, "output");
  add(w1, 20, FileStatus::kLoading, "output");
  add(w2, 3, FileStatus::kStaged, "output");
  add(w2, 4000, FileStatus::kLoaded, "output");        // loaded: removed from staging
  add(w2, 50000, FileStatus::kDownloading, "output");  // not complete yet
  add(w2, 600000, FileStatus::kStaged, "error");       // error files are not loaded
  auto staged = store_->StagedBytes();
  ASSERT_TRUE(staged.ok()) << staged.error().ToString();
  EXPECT_EQ(*staged, 123);
}

TEST_F(SqliteStateStoreTest, FileRoundTripsAndKeepsItsLineCheckpoint) {
  int64_t window = AddWindow(0, 10);
  FileRecord f{0,
               window,
               "Observation",
               "https://src/f1.ndjson",
               "/stage/f1.ndjson",
               500,
               12345,
               500,
               0,
               FileStatus::kStaged,
               "output"};
  auto id = store_->AddFile(f);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  f.id = *id;
  f.lines_loaded = 200;
  f.status = FileStatus::kLoading;
  ASSERT_TRUE(store_->UpdateFile(f).ok());

  auto files = store_->ListFiles(window);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  const FileRecord& got = (*files)[0];
  EXPECT_EQ(got.id, f.id);
  EXPECT_EQ(got.window_id, window);
  EXPECT_EQ(got.resource_type, "Observation");
  EXPECT_EQ(got.url, f.url);
  EXPECT_EQ(got.staged_path, f.staged_path);
  EXPECT_EQ(got.expected_count, 500);
  EXPECT_EQ(got.bytes, 12345);
  EXPECT_EQ(got.lines, 500);
  EXPECT_EQ(got.lines_loaded, 200);
  EXPECT_EQ(got.status, FileStatus::kLoading);
  EXPECT_EQ(got.kind, "output");

  ASSERT_TRUE(store_->DeleteFiles(window).ok());
  EXPECT_TRUE(store_->ListFiles(window)->empty());
}

TEST_F(SqliteStateStoreTest, JobRoundTrips) {
  int64_t window = AddWindow(0, 10);
  JobRecord j{0,         "export", window, "source", "https://src/status/1",
              "running", "abc",    "",     At(100),  At(200)};
  auto id = store_->AddJob(j);
  ASSERT_TRUE(id.ok());
  j.id = *id;
  j.status = "done";
  j.result_json = R"({"output":[1]})";
  j.updated_at = At(300);
  ASSERT_TRUE(store_->UpdateJob(j).ok());
  auto jobs = store_->ListJobs(window);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  const JobRecord& got = (*jobs)[0];
  EXPECT_EQ(got.id, j.id);
  EXPECT_EQ(got.kind, "export");
  EXPECT_EQ(got.window_id, window);
  EXPECT_EQ(got.server, "source");
  EXPECT_EQ(got.status_url, j.status_url);
  EXPECT_EQ(got.status, "done");
  EXPECT_EQ(got.request_fingerprint, "abc");
  EXPECT_EQ(got.result_json, j.result_json);
  EXPECT_EQ(got.created_at, At(100));
  EXPECT_EQ(got.updated_at, At(300));
}

TEST_F(SqliteStateStoreTest, FailuresListOldestFirstLimitedAndResolvable) {
  for (int i = 0; i < 5; ++i) {
    Failure f{0,           7,         "load", "Patient",           "p" + std::to_string(i),
              422,         "invalid", "{}",   "/stage/f.ndjson:3", false,
              At(1000 + i)};
    ASSERT_TRUE(store_->AddFailure(f).ok());
  }
  auto all = store_->ListFailures(true, SIZE_MAX);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  const Failure& first = (*all)[0];
  EXPECT_EQ(first.window_id, 7);
  EXPECT_EQ(first.stage, "load");
  EXPECT_EQ(first.resource_type, "Patient");
  EXPECT_EQ(first.resource_id, "p0");
  EXPECT_EQ(first.http_status, 422);
  EXPECT_EQ(first.reason, "invalid");
  EXPECT_EQ(first.outcome_json, "{}");
  EXPECT_EQ(first.body_location, "/stage/f.ndjson:3");
  EXPECT_FALSE(first.resolved);
  EXPECT_EQ(first.at, At(1000));

  ASSERT_TRUE(store_->ResolveFailure(first.id).ok());
  auto open = store_->ListFailures(false, 2);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].resource_id, "p1");
  EXPECT_EQ((*open)[1].resource_id, "p2");
  EXPECT_EQ(*store_->CountFailures(false), 4);
  EXPECT_EQ(*store_->CountFailures(true), 5);
  EXPECT_TRUE((*store_->ListFailures(true, SIZE_MAX))[0].resolved);

  // A new attempt of the window forgets its unresolved failures only.
  ASSERT_TRUE(store_->DeleteFailures(7).ok());
  EXPECT_EQ(*store_->CountFailures(false), 0);
  EXPECT_EQ(*store_->CountFailures(true), 1);
  EXPECT_EQ(store_->ResolveFailure(999).error().kind, ErrorKind::kNotFound);
}

// A refused resource could never be sent again; now every attempt is kept
// with the failure, and a resolving attempt closes it.
TEST_F(SqliteStateStoreTest, FailureAttemptsAreKeptAndTheLastOneDecides) {
  Failure f;
  f.window_id = 3;
  f.stage = "load";
  f.resource_type = "Patient";
  f.resource_id = "p1";
  f.http_status = 400;
  f.reason = "name required";
  f.at = At(1000);
  ASSERT_TRUE(store_->AddFailure(f).ok());
  int64_t id = (*store_->ListFailures(false, SIZE_MAX))[0].id;
  auto first = *store_->ListFailureAttempts(id);
  ASSERT_EQ(first.size(), 1u);  // the refusal itself
  EXPECT_EQ(first[0].outcome, "failed");
  EXPECT_EQ(first[0].reason, "name required");

  ASSERT_TRUE(store_->RecordFailureAttempt({0, id, At(2000), "failed", 422, "bad date"}).ok());
  auto still = (*store_->ListFailures(false, SIZE_MAX))[0];
  EXPECT_FALSE(still.resolved);
  EXPECT_EQ(still.http_status, 422);  // the newest reason
  EXPECT_EQ(still.reason, "bad date");

  ASSERT_TRUE(store_->RecordFailureAttempt({0, id, At(3000), "resolved", 200, "sent"}).ok());
  EXPECT_EQ(*store_->CountFailures(false), 0);
  auto done = (*store_->ListFailures(true, SIZE_MAX))[0];
  EXPECT_TRUE(done.resolved);
  EXPECT_EQ(done.resolved_at, At(3000));
  EXPECT_EQ(done.reason, "bad date");  // why it had failed stays readable
  auto history = *store_->ListFailureAttempts(id);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].http_status, 422);
  EXPECT_EQ(history[2].outcome, "resolved");
  EXPECT_EQ(history[2].at, At(3000));
  EXPECT_EQ(store_->RecordFailureAttempt({0, 999, At(4000), "failed", 0, "x"}).error().kind,
            ErrorKind::kNotFound);
  EXPECT_TRUE(store_->ListFailureAttempts(999)->empty());

  // A window's new attempt drops its unresolved failures with their history.
  f.resource_id = "p2";
  ASSERT_TRUE(store_->AddFailure(f).ok());
  int64_t second = (*store_->ListFailures(false, SIZE_MAX))[0].id;
  ASSERT_TRUE(store_->DeleteFailures(3).ok());
  EXPECT_TRUE(store_->ListFailureAttempts(second)->empty());
  EXPECT_EQ(store_->ListFailureAttempts(id)->size(), 3u);  // resolved: kept
}

TEST_F(SqliteStateStoreTest, DeletionsRoundTripAndAReplayKeepsTheAppliedFlag) {
  int64_t window = AddWindow(0, 10);
  ASSERT_TRUE(store_->AddDeletion({window, "Patient", "b", At(5), false}).ok());
  ASSERT_TRUE(store_->AddDeletion({window, "Patient", "a", At(6), false}).ok());
  ASSERT_TRUE(store_->MarkDeletionApplied(window, "Patient", "a").ok());
  ASSERT_TRUE(store_->AddDeletion({window, "Patient", "a", At(4), false}).ok());  // replay

  auto dels = store_->ListDeletions(window);
  ASSERT_TRUE(dels.ok());
  ASSERT_EQ(dels->size(), 2u);
  EXPECT_EQ((*dels)[0].resource_id, "a");
  EXPECT_TRUE((*dels)[0].applied);
  EXPECT_EQ((*dels)[0].at, At(6));
  EXPECT_EQ((*dels)[0].window_id, window);
  EXPECT_EQ((*dels)[0].resource_type, "Patient");
  EXPECT_EQ((*dels)[1].resource_id, "b");
  EXPECT_FALSE((*dels)[1].applied);
  EXPECT_EQ(store_->MarkDeletionApplied(window, "Patient", "zz").error().kind,
            ErrorKind::kNotFound);
}

TEST_F(SqliteStateStoreTest, LastCheckIsTheNewestOfItsKind) {
  EXPECT_FALSE(store_->LastCheck("surface")->has_value());
  ASSERT_TRUE(store_->AddCheck({0, "surface", At(10), true, R"({"n":1})"}).ok());
  ASSERT_TRUE(store_->AddCheck({0, "surface", At(30), false, R"({"n":3})"}).ok());
  ASSERT_TRUE(store_->AddCheck({0, "deep", At(40), true, R"({"n":4})"}).ok());
  ASSERT_TRUE(store_->AddCheck({0, "surface", At(20), true, R"({"n":2})"}).ok());
  auto last = store_->LastCheck("surface");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->kind, "surface");
  EXPECT_EQ((*last)->at, At(30));
  EXPECT_FALSE((*last)->passed);
  EXPECT_EQ((*last)->summary_json, R"({"n":3})");
  EXPECT_GT((*last)->id, 0);
}

TEST_F(SqliteStateStoreTest, MetaIsReplacedByKey) {
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  ASSERT_TRUE(store_->PutMeta("k", "one").ok());
  ASSERT_TRUE(store_->PutMeta("k", "two").ok());
  EXPECT_EQ(store_->GetMeta("k")->value_or(""), "two");
}

TEST_F(SqliteStateStoreTest, CountsAddUpPerTypeAcrossWindows) {
  int64_t w1 = AddWindow(0, 10);
  int64_t w2 = AddWindow(10, 20);
  ASSERT_TRUE(store_->AddCounts(w1, {"Patient", 10, 8, 2}).ok());
  ASSERT_TRUE(store_->AddCounts(w1, {"Patient", 5, 5, 0}).ok());
  ASSERT_TRUE(store_->AddCounts(w2, {"Patient", 1, 1, 0}).ok());
  ASSERT_TRUE(store_->AddCounts(w2, {"Encounter", 3, 2, 1}).ok());
  auto totals = store_->TotalCounts();
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->size(), 2u);
  EXPECT_EQ((*totals)[0].resource_type, "Encounter");  // ordered by type
  EXPECT_EQ((*totals)[0].extracted, 3);
  EXPECT_EQ((*totals)[1].resource_type, "Patient");
  EXPECT_EQ((*totals)[1].extracted, 16);
  EXPECT_EQ((*totals)[1].loaded, 14);
  EXPECT_EQ((*totals)[1].failed, 2);

  ASSERT_TRUE(store_->ResetCounts(w1).ok());
  totals = store_->TotalCounts();
  ASSERT_EQ(totals->size(), 2u);
  EXPECT_EQ((*totals)[1].extracted, 1);
}

TEST_F(SqliteStateStoreTest, WindowsAreListedOrderedBySinceThenType) {
  AddWindow(300, 400);
  AddWindow(100, 200, "Patient");
  AddWindow(200, 300);
  AddWindow(100, 200, "Encounter");
  auto windows = store_->ListWindows();
  ASSERT_TRUE(windows.ok());
  ASSERT_EQ(windows->size(), 4u);
  EXPECT_EQ((*windows)[0].resource_type, "Encounter");
  EXPECT_EQ((*windows)[1].resource_type, "Patient");
  EXPECT_EQ((*windows)[2].since, At(200));
  EXPECT_EQ((*windows)[3].since, At(300));
}

TEST_F(SqliteStateStoreTest, NewestWindowsHoldTheNewestOfEachType) {
  EXPECT_TRUE(store_->NewestWindows()->empty());
  AddWindow(0, 100);
  AddWindow(100, 200, "Patient");
  int64_t patient = AddWindow(200, 250, "Patient");
  int64_t all = AddWindow(100, 300);
  int64_t encounter = AddWindow(0, 50, "Encounter");
  auto newest = store_->NewestWindows();
  ASSERT_TRUE(newest.ok()) << newest.error().ToString();
  ASSERT_EQ(newest->size(), 3u);
  EXPECT_EQ((*newest)[0].id, encounter);  // ordered by since, then type
  EXPECT_EQ((*newest)[1].id, all);
  EXPECT_EQ((*newest)[2].id, patient);
}

TEST_F(SqliteStateStoreTest, DeleteWindowRemovesItsRecordsButKeepsFailures) {
  int64_t gone = AddWindow(0, 10);
  int64_t kept = AddWindow(10, 20);
  for (int64_t w : {gone, kept}) {
    ASSERT_TRUE(store_->AddFile({0, w, "Patient", "u", "p"}).ok());
    ASSERT_TRUE(store_->AddCounts(w, {"Patient", 1, 1, 0}).ok());
    ASSERT_TRUE(store_->AddJob({0, "export", w, "source", "s"}).ok());
    ASSERT_TRUE(store_->AddDeletion({w, "Patient", "x", At(1), false}).ok());
    ASSERT_TRUE(store_->AddFailure({0, w, "load", "Patient", "y"}).ok());
  }
  ASSERT_TRUE(store_->DeleteWindow(gone).ok());
  EXPECT_EQ(store_->GetWindow(gone).error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(store_->ListFiles(gone)->empty());
  EXPECT_TRUE(store_->ListJobs(gone)->empty());
  EXPECT_TRUE(store_->ListDeletions(gone)->empty());
  EXPECT_EQ((*store_->TotalCounts())[0].extracted, 1);
  EXPECT_EQ(*store_->CountFailures(true), 2);
  EXPECT_EQ(store_->ListFiles(kept)->size(), 1u);
  EXPECT_TRUE(store_->DeleteWindow(gone).ok());  // idempotent
}

TEST_F(SqliteStateStoreTest, UpdatingAMissingRowIsNotFound) {
  Window w = MakeWindow(0, 10);
  w.id = 42;
  EXPECT_EQ(store_->UpdateWindow(w).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store_->UpdateFile(FileRecord{.id = 42}).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store_->UpdateJob(JobRecord{.id = 42}).error().kind, ErrorKind::kNotFound);
}

TEST_F(SqliteStateStoreTest, FileOfAnUnknownWindowIsRefused) {
  auto id = store_->AddFile({0, 999, "Patient", "u", "p"});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind, ErrorKind::kFatal);
  EXPECT_NE(id.error().message.find("AddFile"), std::string::npos) << id.error().message;
}

TEST_F(SqliteStateStoreTest, TransactionCommitsAllItsWrites) {
  int64_t id = 0;
  auto st = store_->Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(id, store_->AddWindow(MakeWindow(0, 10)));
    FM_TRY_STATUS(store_->AddFile({0, id, "Patient", "u", "p"}));
    return store_->AddCounts(id, {"Patient", 1, 0, 0});
  });
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(store_->ListWindows()->size(), 1u);
  EXPECT_EQ(store_->ListFiles(id)->size(), 1u);
}

TEST_F(SqliteStateStoreTest, TransactionRollbackLeavesNothing) {
  auto st = store_->Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(int64_t id, store_->AddWindow(MakeWindow(0, 10)));
    FM_TRY_STATUS(store_->AddCounts(id, {"Patient", 1, 0, 0}));
    FM_TRY_STATUS(store_->PutMeta("k", "v"));
    return base::MakeError(ErrorKind::kTransient, "remote said no");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kTransient);
  EXPECT_EQ(st.error().message, "remote said no");
  EXPECT_TRUE(store_->ListWindows()->empty());
  EXPECT_TRUE(store_->TotalCounts()->empty());
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  EXPECT_TRUE(store_->PutMeta("k", "after").ok());  // the connection is usable again
}

TEST_F(SqliteStateStoreTest, NestedTransactionFailureRollsBackTheOuterOne) {
  auto failing_inner = [&]() {
    return store_->Transaction([&]() -> base::Status {
      FM_TRY_STATUS(store_->PutMeta("inner", "1"));
      return base::MakeError(ErrorKind::kConflict, "inner failed");
    });
  };
  // The outer one propagates the inner error...
  auto st = store_->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(store_->PutMeta("outer", "1"));
    return failing_inner();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kConflict);
  // ...or ignores it: the whole transaction is rolled back either way.
  st = store_->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(store_->PutMeta("outer", "2"));
    (void)failing_inner();
    return base::Ok();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kConflict);
  EXPECT_NE(st.error().message.find("inner failed"), std::string::npos);
  EXPECT_FALSE(store_->GetMeta("outer")->has_value());
  EXPECT_FALSE(store_->GetMeta("inner")->has_value());
}

TEST_F(SqliteStateStoreTest, NestedTransactionsCommitTogether) {
  auto st = store_->Transaction([&]() -> base::Status {
    FM_TRY_STATUS(store_->PutMeta("a", "1"));
    return store_->Transaction([&] { return store_->PutMeta("b", "2"); });
  });
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(store_->GetMeta("a")->has_value());
  EXPECT_TRUE(store_->GetMeta("b")->has_value());
}

TEST_F(SqliteStateStoreTest, ExceptionInTransactionRollsBackAndLeavesStoreUsable) {
  EXPECT_THROW((void)store_->Transaction([&]() -> base::Status {
    (void)store_->PutMeta("k", "v");
    throw std::runtime_error("bug");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  EXPECT_TRUE(store_->Transaction([&] { return store_->PutMeta("k", "w"); }).ok());
  EXPECT_EQ(store_->GetMeta("k")->value_or(""), "w");
}

TEST(StatusNamesTest, RoundTrip) {
  for (auto s : {WindowStatus::kPlanned, WindowStatus::kExtracting, WindowStatus::kExtracted,
                 WindowStatus::kLoading, WindowStatus::kLoaded, WindowStatus::kFailed}) {
    EXPECT_EQ(ParseWindowStatus(WindowStatusName(s)), s);
  }
  for (auto s : {FileStatus::kPending, FileStatus::kDownloading, FileStatus::kStaged,
                 FileStatus::kLoading, FileStatus::kLoaded, FileStatus::kFailed}) {
    EXPECT_EQ(ParseFileStatus(FileStatusName(s)), s);
  }
  EXPECT_FALSE(ParseWindowStatus("bogus").has_value());
}

}  // namespace
}  // namespace fm::store
