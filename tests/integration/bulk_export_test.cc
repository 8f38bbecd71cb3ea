// Bulk Data $export extraction end to end: the real binary against the test
// server's $export emulation (tests/servers/export.mjs) and its fault
// switches, with kill -9 at the moments that matter.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "store/state_store.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;

class BulkExportTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_bulk");
  std::string state = dir + "/state.db";

  void SetUp() override { source.SetFaults(R"({"retryAfterSeconds":0})"); }

  std::vector<std::string> BulkOverrides(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"migration.extract=bulk", "bulk.poll_interval=100ms",
                                  "bulk.max_poll_interval=1s", "rest.batch_size=100",
                                  "staging.dir=" + dir + "/staging"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }

  RunResult Bulk(const std::string& state_path, std::vector<std::string> extra = {}) {
    return RunMigrate({"run", "--once"}, source, destination, state_path, BulkOverrides(extra));
  }

  int Kickoffs() { return Json::parse(source.Stats())["exportKickoffs"].get<int>(); }

  std::unique_ptr<store::StateStore> Store(const std::string& path) {
    auto s = store::OpenSqliteStateStore({path, /*read_only=*/true});
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }

  int64_t Extracted(const std::string& path) {
    int64_t n = 0;
    for (const auto& t : *Store(path)->TotalCounts()) n += t.extracted;
    return n;
  }
};

int64_t Lines(const std::string& ndjson) { return std::count(ndjson.begin(), ndjson.end(), '\n'); }

// "Type/id" of every resource the state store records as loaded: the lines of
// output files marked loaded, and the first lines_loaded lines of the others,
// read again from the source's export (its files must still be there).
std::set<std::string> RecordedAsLoaded(store::StateStore& store, FhirServer& source) {
  std::set<std::string> keys;
  auto windows = store.ListWindows();
  EXPECT_TRUE(windows.ok());
  if (!windows.ok()) return keys;
  for (const auto& w : *windows) {
    for (const auto& f : *store.ListFiles(w.id)) {
      if (f.kind != "output") continue;
      int64_t lines = f.status == store::FileStatus::kLoaded ? f.lines : f.lines_loaded;
      if (lines <= 0) continue;
      EXPECT_EQ(f.url.rfind(source.base_url(), 0), 0u) << f.url;
      auto file = source.Get(f.url.substr(source.base_url().size()));
      EXPECT_EQ(file.status, 200) << f.url;
      std::istringstream in(file.body);
      std::string line;
      for (int64_t n = 0; n < lines && std::getline(in, line); ++n) {
        Json r = Json::parse(line);
        keys.insert(r["resourceType"].get<std::string>() + "/" + r["id"].get<std::string>());
      }
    }
  }
  return keys;
}

TEST_F(BulkExportTest, BulkAndSearchGiveIdenticalDestinations) {
  std::string ndjson = Generate(3000, 7, "2023-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":400})");
  FhirServer by_search{"by-search"};
  auto search = RunMigrate({"run", "--once"}, source, by_search, dir + "/search.db",
                           {"migration.window=120d"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  auto bulk = Bulk(state, {"migration.window=120d", "bulk.parallel_downloads=3"});
  ASSERT_EQ(bulk.exit_code, 0) << bulk.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  diffs = CompareServers(by_search, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  auto store = Store(state);
  auto windows = *store->ListWindows();
  int with_export = 0;
  for (size_t i = 0; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].status, store::WindowStatus::kLoaded);
    if (i) {
      EXPECT_EQ(windows[i].since, windows[i - 1].till) << "gap at window " << windows[i].id;
    }
    if (!windows[i].export_url.empty()) {
      ++with_export;
      for (const auto& f : *store->ListFiles(windows[i].id)) {
        if (f.kind != "output") continue;
        EXPECT_EQ(f.status, store::FileStatus::kLoaded);
        EXPECT_EQ(f.lines_loaded, f.lines);
        EXPECT_EQ(f.lines, f.expected_count);
      }
    }
  }
  EXPECT_EQ(Kickoffs(), with_export);
  EXPECT_EQ(Extracted(state), Lines(ndjson));
  // Staged files are removed once loaded; the directory is the owner's only.
  ASSERT_TRUE(std::filesystem::exists(dir + "/staging"));
  int staged_left = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/staging")) {
    if (e.is_regular_file()) ++staged_left;
  }
  EXPECT_EQ(staged_left, 0);
  EXPECT_EQ(std::filesystem::status(dir + "/staging").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

// Each case asserts what only its fault produces (a case whose switch is off,
// or whose handling breaks, fails), and every case ends with the destination
// equal to the source and nothing loaded twice, by the destination's own
// history (each resource stored once).
TEST_F(BulkExportTest, EveryFaultSwitchLosesNothingAndSaysWhy) {
  std::string ndjson = Generate(600, 3, "2023-01-01", "2023-06-01");
  // Two Patients on either side of the first window's end (windows of 60 days
  // from migration.start): a server comparing the upper bound with `le` must
  // be sent the instant before it, and then exports each of them once.
  const std::string kStart = "2023-01-01T00:00:00.000Z";
  const std::string kBoundary = "2023-03-02T00:00:00.000Z";
  for (const auto& [id, at] : {std::pair{"edge-before", "2023-03-01T23:59:59.999Z"},
                               std::pair{"edge-at", "2023-03-02T00:00:00.000Z"}}) {
    ndjson += Json({{"resourceType", "Patient"},
                    {"id", id},
                    {"meta", {{"versionId", "1"}, {"lastUpdated", at}}},
                    {"name", Json::array({{{"family", id}}})}})
                  .dump() +
              "\n";
  }
  source.LoadNdjson(ndjson);
  const std::string kLeftAbove = "updated after the window end were left to a later window";
  struct Case {
    std::string faults;
    std::string log_text;
    std::vector<std::string> extra;
    // What only this fault produces, from the run's log and its state store.
    std::function<void(const RunResult&, store::StateStore&)> check;
  };
  std::vector<Case> cases = {
      {R"({"exportStatus429":2})",
       "answered 429: Too many requests (fault switch exportStatus429)",
       {},
       nullptr},
      {R"({"download429":2})", "Too many requests (fault switch download429)", {}, nullptr},
      {R"({"exportTransient500":2})",
       "answered 500: Transient failure (fault switch exportTransient500)",
       {},
       nullptr},
      {R"({"expireFiles":true})", "link expired", {}, nullptr},
      {R"({"slowExportPolls":3})", "export progress: in progress: poll 3 of 3", {}, nullptr},
      {R"({"truncateFile":2})", "(Range)", {"bulk.parallel_downloads=1"}, nullptr},
      {R"({"retryAfterSeconds":100000,"exportPolls":1})",
       "clamped",
       {"bulk.max_poll_interval=200ms"},
       nullptr},
      // Files of at most 50 lines: every type of a window comes in as many
      // files as 50-line files take (150 lines with the switch off).
      {R"({"maxLinesPerFile":50})",
       "",
       {},
       [](const RunResult&, store::StateStore& s) {
         bool split = false;
         for (const auto& w : *s.ListWindows()) {
           std::map<std::string, std::pair<int64_t, int64_t>> by_type;  // lines, files
           for (const auto& f : *s.ListFiles(w.id)) {
             if (f.kind != "output") continue;
             EXPECT_LE(f.lines, 50) << f.url;
             by_type[f.resource_type].first += f.lines;
             by_type[f.resource_type].second += 1;
           }
           for (const auto& [type, n] : by_type) {
             EXPECT_EQ(n.second, (n.first + 49) / 50) << type << " in window " << w.id;
             split |= n.second > 1;
           }
         }
         EXPECT_TRUE(split) << "no type came in more than one file";
       }},
      // The server ignores _till: each window's export holds the later
      // resources too, which are left to their own windows (loading them
      // would load them twice, which the history check below sees).
      {R"({"ignoreUpperBound":true})", kLeftAbove, {}, nullptr},
      // The server compares _till with `le`: the tool sends the window's end
      // minus 1 ms, so no export holds a resource past its window, and the
      // Patient 1 ms before the boundary arrives (lost with the switch off).
      {R"({"upperBoundInclusive":true})",
       "",
       {"bulk.upper_bound_inclusive=true", "migration.start=" + kStart},
       [&](const RunResult& run, store::StateStore& s) {
         EXPECT_EQ(run.err.find(kLeftAbove), std::string::npos) << run.err;
         std::set<std::string> bounds;
         for (const auto& w : *s.ListWindows()) {
           if (!w.export_url.empty()) bounds.insert(base::FormatInstant(w.till - base::Millis(1)));
         }
         EXPECT_TRUE(bounds.count("2023-03-01T23:59:59.999Z")) << kBoundary;
         Json kickoffs = Json::parse(source.Stats())["kickoffs"];
         size_t sent = 0;
         for (const auto& k : kickoffs) {
           if (!k["params"].contains("_till")) continue;
           ++sent;
           std::string till = k["params"]["_till"][0];
           EXPECT_TRUE(bounds.count(till)) << till << " is not a window's end minus 1 ms";
         }
         EXPECT_EQ(sent, bounds.size());
       }},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.faults);
    destination.Reset();
    source.Reset();
    source.LoadNdjson(ndjson);
    Json faults = Json::parse(c.faults);
    if (!faults.contains("retryAfterSeconds")) faults["retryAfterSeconds"] = 0;
    if (!faults.contains("maxLinesPerFile")) faults["maxLinesPerFile"] = 150;
    source.SetFaults(faults.dump());
    std::string state_path = dir + "/fault" + std::to_string(++n) + ".db";
    auto extra = c.extra;
    extra.push_back("migration.window=60d");
    auto run = Bulk(state_path, extra);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    if (!c.log_text.empty()) {
      EXPECT_NE(run.err.find(c.log_text), std::string::npos) << run.err;
    }
    if (c.check) c.check(run, *Store(state_path));
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    auto twice = MoreVersionsThan(VersionCounts(destination));
    EXPECT_TRUE(twice.empty()) << "loaded twice: " << FirstFew(twice);
  }
}

// A download that arrives whole but one line short of the manifest's count
// cannot be trusted: the window is exported again, the abandoned job is
// DELETEd on the source, and nothing is lost or loaded twice.
TEST_F(BulkExportTest, AFileShortOfItsManifestCountIsExportedAgainAndTheOldJobDeleted) {
  std::string ndjson = Generate(600, 5, "2023-01-01", "2023-06-01");
  source.LoadNdjson(ndjson);
  source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":150,"shortFile":1})");
  auto run = Bulk(state, {"migration.window=3650d", "migration.retry_backoff=100ms",
                          "bulk.parallel_downloads=1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("but the file has"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("abandoned export job was deleted"), std::string::npos) << run.err;
  Json stats = Json::parse(source.Stats());
  EXPECT_EQ(stats["exportKickoffs"].get<int>(), 2) << "one window, exported twice";
  // The abandoned job and the second one (once its files were staged).
  EXPECT_EQ(stats["requests"].value("DELETE $export-status", 0), 2) << stats["requests"].dump();
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  auto twice = MoreVersionsThan(VersionCounts(destination));
  EXPECT_TRUE(twice.empty()) << "loaded twice: " << FirstFew(twice);
}

// Starts a bulk run and SIGKILLs it once `when` holds for the state store.
bool RunAndKill(const std::vector<std::string>& argv, const std::string& state,
                const std::string& log, const std::function<bool(store::StateStore&)>& when) {
  SpawnOptions o;
  o.argv = argv;
  o.stdout_path = log;
  Process p(o);
  std::unique_ptr<store::StateStore> reader;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(50);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!p.Running()) {
      // It ended before the moment came: a whole run, which must have succeeded.
      EXPECT_EQ(p.Wait(std::chrono::seconds(10)).value_or(-1), 0) << ReadFile(log);
      return false;
    }
    if (!reader) {
      auto opened = store::OpenSqliteStateStore({state, /*read_only=*/true});
      if (opened.ok()) reader = std::move(*opened);
    }
    if (reader && when(*reader)) {
      p.Signal(SIGKILL);
      EXPECT_EQ(p.Wait(std::chrono::seconds(10)).value_or(0), 128 + SIGKILL);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The moment never came within the deadline: the caller's assertion says so.
  p.Signal(SIGKILL);
  EXPECT_EQ(p.Wait(std::chrono::seconds(10)).value_or(0), 128 + SIGKILL);
  return false;
}

std::vector<std::string> Argv(FhirServer& source, FhirServer& destination, const std::string& state,
                              const std::vector<std::string>& overrides) {
  std::vector<std::string> argv = {FhirMigrateBinary(),
                                   "-o",
                                   "source.url=" + source.base_url(),
                                   "-o",
                                   "destination.url=" + destination.base_url(),
                                   "-o",
                                   "state.path=" + state};
  for (const auto& o : overrides) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  argv.push_back("run");
  argv.push_back("--once");
  return argv;
}

TEST_F(BulkExportTest, KilledWhilePollingTheRerunResumesTheSameJob) {
  source.LoadNdjson(Generate(800, 5, "2023-01-01", "2023-03-01"));
  source.SetFaults(R"({"retryAfterSeconds":1,"slowExportPolls":25})");
  auto overrides = BulkOverrides({"migration.window=3650d", "bulk.max_poll_interval=200ms"});
  bool killed = RunAndKill(Argv(source, destination, state, overrides), state, dir + "/poll.log",
                           [](store::StateStore& s) {
                             auto ws = s.ListWindows();
                             if (!ws.ok()) return false;
                             for (const auto& w : *ws) {
                               if (!w.export_url.empty() && w.manifest_json.empty()) return true;
                             }
                             return false;
                           });
  ASSERT_TRUE(killed) << "the run finished before it could be killed while polling";
  auto rerun = RunMigrate({"run", "--once"}, source, destination, state, overrides);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.err.find("resuming the export job"), std::string::npos) << rerun.err;
  EXPECT_EQ(Kickoffs(), 1);
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  // Nothing was loaded before the kill: everything was loaded once.
  auto twice = MoreVersionsThan(VersionCounts(destination));
  EXPECT_TRUE(twice.empty()) << "loaded twice: " << FirstFew(twice);
}

TEST_F(BulkExportTest, KilledWhileDownloadingTheRerunResumesTheSameJob) {
  source.LoadNdjson(Generate(800, 6, "2023-01-01", "2023-03-01"));
  source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":40,"download429":6})");
  auto overrides = BulkOverrides({"migration.window=3650d", "bulk.parallel_downloads=1"});
  bool killed = RunAndKill(Argv(source, destination, state, overrides), state, dir + "/dl.log",
                           [](store::StateStore& s) {
                             auto ws = s.ListWindows();
                             if (!ws.ok()) return false;
                             for (const auto& w : *ws) {
                               auto files = s.ListFiles(w.id);
                               if (!files.ok()) continue;
                               for (const auto& f : *files) {
                                 if (f.status == store::FileStatus::kStaged) return true;
                               }
                             }
                             return false;
                           });
  ASSERT_TRUE(killed) << "the run finished before it could be killed while downloading";
  Versions at_kill = VersionCounts(destination);
  auto recorded = RecordedAsLoaded(*Store(state), source);
  auto rerun = RunMigrate({"run", "--once"}, source, destination, state, overrides);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(Kickoffs(), 1);
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  // What the state recorded as loaded was not loaded again; only lines past
  // a file's checkpoint may have been sent twice.
  auto again = LoadedAgain(at_kill, VersionCounts(destination), recorded);
  EXPECT_TRUE(again.empty()) << FirstFew(again);
  auto many = MoreVersionsThan(VersionCounts(destination), 2);
  EXPECT_TRUE(many.empty()) << FirstFew(many);
}

// Download and load are pipelined: a window's first files are loaded while
// its later files still download (one at a time here, 300 ms each). A kill -9
// in that state, and the rerun finishes the same job with nothing lost.
TEST_F(BulkExportTest, FilesLoadWhileLaterOnesDownload) {
  source.LoadNdjson(Generate(600, 9, "2023-01-01", "2023-06-01"));
  source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":100,"downloadDelayMs":300})");
  auto overrides = BulkOverrides({"migration.window=3650d", "bulk.parallel_downloads=1"});
  auto loading_while_downloading = [](store::StateStore& s) {
    auto ws = s.ListWindows();
    if (!ws.ok()) return false;
    for (const auto& w : *ws) {
      auto files = s.ListFiles(w.id);
      if (!files.ok()) continue;
      bool loaded = false, downloading = false;
      for (const auto& f : *files) {
        if (f.kind != "output") continue;
        loaded |= f.status == store::FileStatus::kLoaded;
        downloading |=
            f.status == store::FileStatus::kPending || f.status == store::FileStatus::kDownloading;
      }
      if (loaded && downloading) return true;
    }
    return false;
  };
  // bulk.pipeline = false stages the whole window first: the run ends unkilled.
  {
    auto sequential = overrides;
    sequential.push_back("bulk.pipeline=false");
    std::string sequential_state = dir + "/sequential.db";
    EXPECT_FALSE(RunAndKill(Argv(source, destination, sequential_state, sequential),
                            sequential_state, dir + "/sequential.log", loading_while_downloading));
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    destination.Reset();
  }
  bool overlapped = RunAndKill(Argv(source, destination, state, overrides), state,
                               dir + "/pipeline.log", loading_while_downloading);
  ASSERT_TRUE(overlapped) << "no file was loaded while a later one was still downloading";
  Versions at_kill = VersionCounts(destination);
  auto recorded = RecordedAsLoaded(*Store(state), source);
  EXPECT_FALSE(recorded.empty());
  source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":100})");
  auto rerun = RunMigrate({"run", "--once"}, source, destination, state, overrides);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(Kickoffs(), 2);  // the sequential run's and this one's
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  auto again = LoadedAgain(at_kill, VersionCounts(destination), recorded);
  EXPECT_TRUE(again.empty()) << "files recorded as loaded were loaded again: " << FirstFew(again);
}

TEST_F(BulkExportTest, WithoutAnUpperBoundWindowsFollowTransactionTimeAndUpdatesArriveOnce) {
  std::string ndjson = Generate(500, 8, "2023-01-01", "2023-05-01");
  source.LoadNdjson(ndjson);
  source.SetFaults(R"({"retryAfterSeconds":1,"ignoreUpperBound":true,"slowExportPolls":8})");
  auto overrides = BulkOverrides({"migration.window=3650d", "bulk.upper_bound_param=none",
                                  "migration.safety_lag=1s", "bulk.max_poll_interval=200ms"});
  // Update five patients while the export job runs: they are not in its
  // snapshot and must arrive with the next run, once.
  auto page = Json::parse(source.Get("/Patient?_count=5").body);
  std::vector<std::string> ids;
  SpawnOptions o;
  o.argv = Argv(source, destination, state, overrides);
  o.stdout_path = dir + "/first.log";
  {
    Process p(o);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    bool updated = false;
    while (p.Running() && std::chrono::steady_clock::now() < deadline) {
      if (!updated) {
        auto s = store::OpenSqliteStateStore({state, true});
        if (s.ok()) {
          auto ws = (*s)->ListWindows();
          if (ws.ok() && !ws->empty() && !ws->front().export_url.empty()) {
            for (auto& e : page["entry"]) {
              Json r = e["resource"];
              r["name"] = Json::array({{{"family", "Updated"}}});
              ids.push_back(r["id"]);
              EXPECT_LT(source.Put("/Patient/" + r["id"].get<std::string>(), r.dump()).status, 300);
            }
            updated = true;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(updated);
    ASSERT_EQ(p.Wait(std::chrono::seconds(5)).value_or(-1), 0) << ReadFile(dir + "/first.log");
  }
  {
    auto store = Store(state);
    auto windows = *store->ListWindows();
    ASSERT_EQ(windows.size(), 1u);
    ASSERT_TRUE(windows[0].transaction_time.has_value());
    EXPECT_EQ(windows[0].till, *windows[0].transaction_time + base::Millis(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the safety lag
  auto second = Bulk(
      state, {"migration.window=3650d", "bulk.upper_bound_param=none", "migration.safety_lag=1s"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  auto store = Store(state);
  auto windows = *store->ListWindows();
  ASSERT_GE(windows.size(), 2u);
  for (size_t i = 1; i < windows.size(); ++i) EXPECT_EQ(windows[i].since, windows[i - 1].till);
  EXPECT_EQ(Extracted(state), Lines(ndjson) + static_cast<int64_t>(ids.size()));
  for (const auto& id : ids) {
    auto history = Json::parse(destination.Get("/Patient/" + id + "/_history").body);
    EXPECT_EQ(history["total"].get<int>(), 2) << id;  // the original and the update, once each
  }
  // By the destination's own history: the second run loaded nothing but the
  // updates (a window reloaded past the first run's transactionTime would
  // store second versions of resources that did not change).
  std::set<std::string> updated;
  for (const auto& id : ids) updated.insert("Patient/" + id);
  std::vector<std::string> wrong;
  for (const auto& [key, n] : VersionCounts(destination)) {
    if (n != (updated.count(key) ? 2 : 1)) wrong.push_back(key + ": " + std::to_string(n));
  }
  EXPECT_TRUE(wrong.empty()) << "versions stored: " << FirstFew(wrong);
}

// Continuous incremental migration with history: the source holds several
// versions of many resources, the export lists them all
// (includeAssociatedData=_history), oldest first as this server writes them
// or newest first as other servers may, and the REST loader sends them with
// several Bundles in flight. Every destination resource must end as the
// source's current version, never an older one that happened to land last.
TEST_F(BulkExportTest, HistoryVersionsLeaveEveryResourceAtItsCurrentVersion) {
  source.LoadNdjson(Generate(400, 21, "2023-01-01", "2023-04-01"));
  // Five rounds of updates to 30 Patients and 30 Observations.
  std::vector<Json> targets;
  for (const char* type : {"Patient", "Observation"}) {
    auto page = Json::parse(source.Get(std::string("/") + type + "?_count=30").body);
    ASSERT_EQ(page["entry"].size(), 30u) << type;
    for (auto& e : page["entry"]) targets.push_back(e["resource"]);
  }
  for (int round = 1; round <= 5; ++round) {
    for (auto& r : targets) {
      std::string type = r["resourceType"];
      std::string id = r["id"];
      if (type == "Patient") {
        r["name"] = Json::array({{{"family", "Round" + std::to_string(round)}}});
      } else {
        r["status"] = round % 2 ? "amended" : "corrected";
        r["valueQuantity"] = {{"value", round}, {"unit", "mg"}};
      }
      ASSERT_LT(source.Put("/" + type + "/" + id, r.dump()).status, 300) << type << "/" << id;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the safety lag
  for (bool newest_first : {false, true}) {
    SCOPED_TRACE(newest_first ? "newest first" : "oldest first");
    destination.Reset();
    Json faults = {{"retryAfterSeconds", 0}, {"maxLinesPerFile", 300}};
    if (newest_first) faults["historyNewestFirst"] = true;
    source.SetFaults(faults.dump());
    std::string state_path = dir + (newest_first ? "/newest.db" : "/oldest.db");
    auto run = Bulk(state_path, {"migration.window=3650d", "migration.safety_lag=1s",
                                 "bulk.include_associated_data=_history", "rest.batch_size=7",
                                 "rest.concurrency=4"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    // Every version was exported and accounted for.
    EXPECT_EQ(Extracted(state_path), 400 + 5 * static_cast<int64_t>(targets.size()));
    if (newest_first) {
      EXPECT_NE(run.err.find("older versions skipped"), std::string::npos) << run.err;
    } else {
      // Oldest first, every version reaches the destination's history.
      auto history = Json::parse(
          destination.Get("/Patient/" + targets[0]["id"].get<std::string>() + "/_history").body);
      EXPECT_EQ(history["total"].get<int>(), 6);
    }
  }
}

}  // namespace
}  // namespace fm::harness
