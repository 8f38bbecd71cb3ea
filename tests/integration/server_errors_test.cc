// Every error a real FHIR server produces, through the real binary: the test
// server's fault switches (tests/servers/fhir-server.mjs) on a continuous bulk
// migration. Each test loads a source, migrates it once (the watermark moves),
// updates a few resources after the watermark, arms one fault and runs again,
// then asserts what the tool did: the server's own words in the log and in the
// failures or the window's last error, the exit code (docs/errors.md), the
// watermark held by a window that could not be loaded (status --json), and
// after the fault clears (and clear-halt) the destination equal to the source
// with nothing loaded twice, by the destination's own history.
//
// The two servers are shared by every test of the binary and reset by each.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/time.h"
#include "store/state_store.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;

constexpr int kUpdated = 8;  // resources updated after the watermark in each round

class ServerErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = new FhirServer("source");
    destination_ = new FhirServer("destination");
  }
  static void TearDownTestSuite() {
    delete source_;
    delete destination_;
    source_ = destination_ = nullptr;
  }

  FhirServer& source = *source_;
  FhirServer& destination = *destination_;
  std::string dir = TempDir("fm_server_errors");
  std::string state = dir + "/state.db";
  int round = 0;                     // of updates
  std::vector<std::string> updated;  // "Patient/<id>" of the round's updates
  Json before;                       // status --json before the faulty run
  Versions versions_before;          // the destination's history before it

  // A first migration of the whole source: the watermark moves past it.
  void SetUp() override {
    source.SetFaults("{}");
    destination.SetFaults("{}");
    source.Reset();
    destination.Reset();
    source.LoadNdjson(Generate(150, 31, "2023-01-01", "2023-03-01"));
    source.SetFaults(R"({"retryAfterSeconds":0})");
    auto first = Run();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    before = Status();
    ASSERT_TRUE(before["watermark"].is_string()) << before.dump();
  }

  void TearDown() override {
    source.SetFaults("{}");
    destination.SetFaults("{}");
  }

  std::vector<std::string> Overrides(const std::vector<std::string>& extra) {
    std::vector<std::string> o = {"migration.extract=bulk",    "bulk.poll_interval=100ms",
                                  "bulk.max_poll_interval=1s", "rest.batch_size=100",
                                  "migration.window=3650d",    "migration.safety_lag=1s",
                                  "migration.max_attempts=1",  "staging.dir=" + dir + "/staging"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }
  RunResult Run(const std::vector<std::string>& extra = {}) {
    return RunMigrate({"run", "--once"}, source, destination, state, Overrides(extra));
  }
  Json Status() {
    auto r = RunMigrate({"status", "--json"}, source, destination, state, Overrides({}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }
  Json FailuresList() {
    auto r = RunMigrate({"failures", "list", "--json"}, source, destination, state, Overrides({}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }
  int SourceStat(const std::string& key) { return Json::parse(source.Stats())[key].get<int>(); }
  int SourceRequests(const std::string& route) {
    return Json::parse(source.Stats())["requests"].value(route, 0);
  }
  std::string LastError() {
    auto s = store::OpenSqliteStateStore({state, /*read_only=*/true});
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return "";
    std::string last;
    for (const auto& w : *(*s)->ListWindows()) {
      if (w.status == store::WindowStatus::kFailed) last = w.last_error;
    }
    return last;
  }

  // Updates kUpdated Patients on the source after the watermark and outside
  // the safety lag, so that the next run has one new window holding them.
  void UpdateAfterTheWatermark() {
    auto watermark = base::ParseInstant(before["watermark"].get<std::string>());
    ASSERT_TRUE(watermark.ok());
    auto now = [] {
      return std::chrono::time_point_cast<base::Millis>(std::chrono::system_clock::now());
    };
    base::Instant at = *watermark + base::Millis(5);
    if (at > now() - base::Millis(1100)) {
      std::this_thread::sleep_for(at - (now() - base::Millis(1100)));
    }
    auto page = Json::parse(source.Get("/Patient?_count=" + std::to_string(kUpdated)).body);
    ASSERT_EQ(page["entry"].size(), static_cast<size_t>(kUpdated));
    ++round;
    std::string ndjson;
    for (auto& e : page["entry"]) {
      Json r = e["resource"];
      r["name"] = Json::array({{{"family", "Updated" + std::to_string(round)}}});
      r["meta"] = {{"versionId", std::to_string(round + 1)},
                   {"lastUpdated", base::FormatInstant(at)}};
      updated.push_back("Patient/" + r["id"].get<std::string>());
      ndjson += r.dump() + "\n";
    }
    source.LoadNdjson(ndjson);
    versions_before = VersionCounts(destination);
  }

  // The faulty run could not load the new window: it failed once and halted
  // the migration (migration.max_attempts = 1), the watermark did not move,
  // and the updates are not on the destination.
  void ExpectHeld(const RunResult& run) {
    EXPECT_EQ(run.exit_code, 5) << run.err;  // halted
    Json now = Status();
    EXPECT_EQ(now["watermark"], before["watermark"]) << "the watermark moved past the window";
    EXPECT_TRUE(now["halted"].get<bool>()) << now.dump();
    EXPECT_EQ(now["windows"]["failed"].get<int>(), 1) << now.dump();
    EXPECT_FALSE(CompareServers(source, destination, kGeneratedTypes).empty())
        << "the fault should have kept updates from the destination";
  }

  // The fault cleared (and the halt, when there was one): the run loads what
  // was held back, the destination equals the source, and nothing loaded
  // before the faulty run was loaded again.
  void ExpectRecovered(bool halted) {
    source.SetFaults(R"({"retryAfterSeconds":0})");
    destination.SetFaults("{}");
    if (halted) {
      auto clear = RunMigrate({"clear-halt"}, source, destination, state, Overrides({}));
      ASSERT_EQ(clear.exit_code, 0) << clear.err;
    }
    auto rerun = Run();
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    ExpectEqualAndLoadedOnce();
  }

  void ExpectEqualAndLoadedOnce() {
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    Json now = Status();
    EXPECT_GT(now["watermark"].get<std::string>(), before["watermark"].get<std::string>());
    EXPECT_FALSE(now["halted"].get<bool>());
    EXPECT_EQ(now["failures"]["unresolved"].get<int>(), 0) << now.dump();
    // Nothing loaded again but the updates: every other resource keeps the
    // one version the first run stored.
    Versions after = VersionCounts(destination);
    std::set<std::string> untouched;
    for (const auto& [key, n] : versions_before) untouched.insert(key);
    for (const auto& key : updated) untouched.erase(key);
    auto again = LoadedAgain(versions_before, after, untouched);
    EXPECT_TRUE(again.empty()) << FirstFew(again);
    for (const auto& key : updated) {
      EXPECT_GT(after[key], versions_before[key]) << key << ": the update never arrived";
    }
  }

  // After a run that recovered by itself: each update was loaded exactly once.
  void ExpectEachUpdateLoadedOnce() {
    Versions after = VersionCounts(destination);
    for (const auto& key : updated) EXPECT_EQ(after[key], versions_before[key] + 1) << key;
    ExpectEqualAndLoadedOnce();
  }

  static FhirServer* source_;
  static FhirServer* destination_;
};

FhirServer* ServerErrorsTest::source_ = nullptr;
FhirServer* ServerErrorsTest::destination_ = nullptr;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// error[] holding real error OperationOutcomes next to good files: each is a
// failure with the server's diagnostics and the resource it names, an error
// file is never loaded as data, and the window is not loaded (the resource is
// missing from output[]), so the watermark holds until an export without
// errors.
TEST_F(ServerErrorsTest, ErrorOutcomesInErrorFilesAreFailuresAndHoldTheWindow) {
  UpdateAfterTheWatermark();
  const std::string victim = updated[3];
  source.SetFaults(R"({"retryAfterSeconds":0,"exportErrors":[")" + victim + R"("]})");
  auto broken = Run();
  ExpectHeld(broken);
  const std::string words =
      "Failed to export " + victim + ": the stored resource could not be serialized";
  EXPECT_TRUE(Contains(broken.err, words)) << broken.err;
  EXPECT_TRUE(Contains(LastError(), "1 errors in error[]")) << LastError();
  Json failures = FailuresList();
  ASSERT_EQ(failures.size(), 1u) << failures.dump();
  EXPECT_EQ(failures[0]["stage"], "export");
  EXPECT_EQ(
      failures[0]["type"].get<std::string>() + "/" + failures[0]["resource_id"].get<std::string>(),
      victim);
  EXPECT_TRUE(Contains(failures[0]["reason"].get<std::string>(), words)) << failures.dump();
  // Never loaded as data: no OperationOutcome reached the destination.
  EXPECT_FALSE(Json::parse(destination.Stats())["resources"].contains("OperationOutcome"));
  ExpectRecovered(/*halted=*/true);
}

// A kick-off answered 429 ("an export is already running") or 503 with a
// transient OperationOutcome is tried again after Retry-After, and the log
// says what the server said.
TEST_F(ServerErrorsTest, AKickOffRefusedForNowIsRetriedAndLoggedInTheServersWords) {
  UpdateAfterTheWatermark();
  int kickoffs = SourceStat("exportKickoffs");
  source.SetFaults(R"({"retryAfterSeconds":0,"kickoff429":2,"kickoff503":1})");
  auto run = Run();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "An export is already running for this client")) << run.err;
  EXPECT_TRUE(Contains(run.err, "The export service is starting up")) << run.err;
  EXPECT_EQ(SourceStat("exportKickoffs") - kickoffs, 4);
  ExpectEachUpdateLoadedOnce();
}

// A kick-off refused with 500 and a non-transient OperationOutcome, or with
// 400, is not asked again by the client (the 500 was retried ten times with
// doubling waits): the window fails at once with the server's words and holds
// the watermark.
TEST_F(ServerErrorsTest, AKickOffRefusedForGoodIsNotRetriedAndHoldsTheWindow) {
  UpdateAfterTheWatermark();
  struct Case {
    std::string fault;
    std::string words;
  };
  for (const Case& c :
       {Case{"kickoff500", "Export could not be queued: the job store rejected the request"},
        Case{"kickoff400", "This server cannot export the requested resource types"}}) {
    SCOPED_TRACE(c.fault);
    int kickoffs = SourceStat("exportKickoffs");
    source.SetFaults(R"({"retryAfterSeconds":0,")" + c.fault + R"(":99})");
    auto broken = Run();
    ExpectHeld(broken);
    EXPECT_EQ(SourceStat("exportKickoffs") - kickoffs, 1) << "the kick-off was sent again";
    EXPECT_TRUE(Contains(broken.err, c.words)) << broken.err;
    EXPECT_TRUE(Contains(LastError(), c.words)) << LastError();
    auto clear = RunMigrate({"clear-halt"}, source, destination, state, Overrides({}));
    ASSERT_EQ(clear.exit_code, 0) << clear.err;
  }
  ExpectRecovered(/*halted=*/false);
}

// A job that fails for good (status 500 with a non-transient
// OperationOutcome) is not polled again (it was, ten times with doubling
// waits); it is DELETEd, the window holds the watermark, and its next attempt
// exports it again.
TEST_F(ServerErrorsTest, AnExportJobThatFailedForGoodIsNotPolledAgainAndExportedAgain) {
  UpdateAfterTheWatermark();
  int kickoffs = SourceStat("exportKickoffs");
  int deletes = SourceRequests("DELETE $export-status");
  source.SetFaults(R"({"retryAfterSeconds":0,"exportJobFails":1})");
  auto broken = Run();
  ExpectHeld(broken);
  EXPECT_EQ(SourceStat("failedJobPolls"), 1) << "the failed job was polled again\n" << broken.err;
  EXPECT_EQ(SourceRequests("DELETE $export-status") - deletes, 1) << broken.err;
  const std::string words = "failed: the database export step aborted";
  EXPECT_TRUE(Contains(broken.err, words)) << broken.err;
  EXPECT_TRUE(Contains(LastError(), words)) << LastError();
  ExpectRecovered(/*halted=*/true);
  EXPECT_EQ(SourceStat("exportKickoffs") - kickoffs, 2) << "a new export for the window";
}

// The status URL answers 404 in the middle of polling (the server purged the
// job): the window is exported again within the same run.
TEST_F(ServerErrorsTest, AJobPurgedWhilePolledIsExportedAgain) {
  UpdateAfterTheWatermark();
  int kickoffs = SourceStat("exportKickoffs");
  source.SetFaults(R"({"retryAfterSeconds":0,"purgeExportJobs":1,"slowExportPolls":3})");
  auto run = Run();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "is gone (404/410); exporting the window again")) << run.err;
  EXPECT_EQ(SourceStat("exportKickoffs") - kickoffs, 2);
  ExpectEachUpdateLoadedOnce();
}

// Downloads answered 500 (an OperationOutcome) or 502 (a proxy's HTML page)
// are retried with the server's words in the log (the page's text, not its
// markup); answered so every time, the window fails with those words, holds
// the watermark, and the rerun downloads from the same job.
TEST_F(ServerErrorsTest, DownloadErrorsAreRetriedAndAPersistentOneHoldsTheWindow) {
  UpdateAfterTheWatermark();
  source.SetFaults(R"({"retryAfterSeconds":0,"download500":1,"download502Html":1})");
  auto run = Run({"bulk.parallel_downloads=1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "Internal error while reading the export file")) << run.err;
  EXPECT_TRUE(Contains(run.err, "502 Bad Gateway")) << run.err;
  EXPECT_FALSE(Contains(run.err, "<h1>")) << run.err;
  ExpectEachUpdateLoadedOnce();

  before = Status();
  updated.clear();
  UpdateAfterTheWatermark();
  source.SetFaults(R"({"retryAfterSeconds":0,"download502Html":99})");
  auto broken = Run({"bulk.parallel_downloads=1"});
  ExpectHeld(broken);
  EXPECT_TRUE(Contains(LastError(), "502 Bad Gateway")) << LastError();
  int kickoffs = SourceStat("exportKickoffs");
  ExpectRecovered(/*halted=*/true);
  EXPECT_EQ(SourceStat("exportKickoffs"), kickoffs) << "the rerun downloads from the same job";
}

// Retry-After as an HTTP-date on status polls is read as one: an hour ahead,
// it is clamped to bulk.max_poll_interval, and the note quotes the date.
TEST_F(ServerErrorsTest, RetryAfterAsAnHttpDateOnPollsIsHonoured) {
  UpdateAfterTheWatermark();
  source.SetFaults(R"({"retryAfterSeconds":3600,"retryAfterHttpDate":true,"slowExportPolls":2})");
  auto run = Run({"bulk.max_poll_interval=200ms"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "GMT), clamped to 200ms (bulk.max_poll_interval)")) << run.err;
  ExpectEachUpdateLoadedOnce();
}

// A manifest without counts: the files are counted as they are read, nothing
// is held to a count the server did not give.
TEST_F(ServerErrorsTest, AManifestWithoutCountsIsCountedAsRead) {
  UpdateAfterTheWatermark();
  source.SetFaults(R"({"retryAfterSeconds":0,"manifestWithoutCount":true})");
  auto run = Run();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "no resource counts")) << run.err;
  auto s = store::OpenSqliteStateStore({state, /*read_only=*/true});
  ASSERT_TRUE(s.ok());
  auto windows = *(*s)->ListWindows();
  ASSERT_EQ(windows.size(), 2u);
  int64_t lines = 0;
  for (const auto& f : *(*s)->ListFiles(windows.back().id)) {
    if (f.kind != "output") continue;
    EXPECT_EQ(f.expected_count, -1);
    EXPECT_EQ(f.status, store::FileStatus::kLoaded);
    lines += f.lines;
  }
  EXPECT_EQ(lines, kUpdated);
  EXPECT_EQ(windows.back().resources_extracted, kUpdated);
  ExpectEachUpdateLoadedOnce();
}

// The destination answers whole batch Bundles with 429 or 503, with and
// without Retry-After: they are sent again (nothing was applied, so nothing
// arrives twice), the log carries the server's words and, with Retry-After,
// the wait it asked for. Answered so every time, the window fails with those
// words and holds the watermark.
TEST_F(ServerErrorsTest, ADestinationRefusingBundlesIsRetriedAndAPersistentRefusalHoldsTheWindow) {
  struct Case {
    std::string faults;
    std::string words;
    bool retry_after;
  };
  const std::vector<Case> cases = {
      {R"({"batch429":2,"retryAfterSeconds":3600})", "the destination is throttling Bundles", true},
      {R"({"batch429":2,"batchWithoutRetryAfter":true})", "the destination is throttling Bundles",
       false},
      {R"({"batch503":2,"retryAfterSeconds":3600})", "the destination is overloaded", true},
      {R"({"batch503":2,"batchWithoutRetryAfter":true})", "the destination is overloaded", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.faults);
    before = Status();
    updated.clear();
    UpdateAfterTheWatermark();
    destination.SetFaults(c.faults);
    auto run = Run({"http.max_retry_after=300ms"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(Contains(run.err, c.words)) << run.err;
    EXPECT_EQ(Contains(run.err, "server asked to wait 1h"), c.retry_after) << run.err;
    destination.SetFaults("{}");
    ExpectEachUpdateLoadedOnce();
  }
  before = Status();
  updated.clear();
  UpdateAfterTheWatermark();
  destination.SetFaults(R"({"batch503":99,"retryAfterSeconds":0})");
  auto broken = Run();
  ExpectHeld(broken);
  EXPECT_TRUE(Contains(LastError(), "the destination is overloaded")) << LastError();
  ExpectRecovered(/*halted=*/true);
}

}  // namespace
}  // namespace fm::harness
