#include "migrate/runner.h"

#include <gtest/gtest.h>

#include <atomic>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

void SeedYears(World& w, int n) {
  for (int i = 0; i < n; ++i) {
    int month = 1 + i % 12;
    int year = 2020 + (i / 12) % 3;
    char ts[40];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:00:00.000Z", year, month, 1 + i % 28, i % 24);
    std::string id = "r" + std::to_string(i);
    w.src.Seed(i % 3 ? Observation(id, ts) : Patient(id, ts));
  }
}

TEST(RunnerTest, MigratesEverythingAndAdvancesTheWatermark) {
  World w;
  SeedYears(w, 60);
  auto e = w.MakeEngine();
  auto summary = e->runner.RunOnce();
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_EQ(summary->resources_loaded, 60);
  w.ExpectDestinationEqualsSource();
  auto state = *w.store->GetMigration();
  ASSERT_TRUE(state.watermark.has_value());
  EXPECT_EQ(*state.watermark, w.clock.Now() - w.options.plan.safety_lag);
  auto totals = *w.store->TotalCounts();
  int64_t loaded = 0;
  for (const auto& t : totals) loaded += t.loaded;
  EXPECT_EQ(loaded, 60);
}

// A state file reused with other servers would make the watermark of one
// migration claim data of another was copied; the run must refuse before
// planning or copying anything.
// `status` had no way to tell how long a window took: its rate divided the
// resources of the last five minutes by five minutes. Each attempt now
// records when it started.
TEST(RunnerTest, EveryLoadedWindowRecordsWhenItsAttemptStarted) {
  World w;
  w.src.Seed(Patient("p1", "2023-12-01T00:00:00.000Z"));
  w.src.Seed(Patient("p2", "2023-12-20T00:00:00.000Z"));
  auto e = w.MakeEngine();
  base::Instant before = w.clock.Now();
  ASSERT_TRUE(e->runner.RunOnce().ok());
  int with_resources = 0;
  for (const auto& win : *w.store->ListWindows()) {
    if (win.resources_loaded == 0) continue;
    ++with_resources;
    ASSERT_TRUE(win.started_at.has_value()) << win.id;
    EXPECT_GE(*win.started_at, before);
    EXPECT_LE(*win.started_at, win.updated_at);
    EXPECT_EQ(win.expected, win.resources_loaded);
  }
  EXPECT_GE(with_resources, 1);
}

TEST(RunnerTest, AStateStoreOfAnotherMigrationIsRefusedBeforeAnythingIsCopied) {
  World w;
  SeedYears(w, 12);
  w.options.identity = "source http://a/fhir\ndestination http://b/fhir";
  {
    auto e = w.MakeEngine();
    ASSERT_TRUE(e->runner.RunOnce().ok());
  }
  auto recorded = w.store->GetMigration()->fingerprint;
  EXPECT_FALSE(recorded.empty());
  {
    auto e = w.MakeEngine();  // the same servers again: fine
    ASSERT_TRUE(e->runner.RunOnce().ok());
  }
  w.clock.Advance(std::chrono::hours(24 * 90));  // new windows would be due
  size_t windows = w.store->ListWindows()->size();
  w.options.identity = "source http://a/fhir\ndestination http://c/fhir";
  auto e = w.MakeEngine();
  auto refused = e->runner.RunOnce();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, base::ErrorKind::kOtherMigration);
  EXPECT_EQ(refused.error().message.rfind(kOtherMigrationPrefix, 0), 0u) << refused.error().message;
  // The hint names the key that exists (state.path).
  EXPECT_NE(refused.error().message.find("(state.path)"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(w.store->ListWindows()->size(), windows);
  EXPECT_EQ(w.store->GetMigration()->fingerprint, recorded);
}

TEST(RunnerTest, AWindowThatKeepsFailingHaltsAndTheWatermarkStaysBeforeIt) {
  World w;
  SeedYears(w, 30);
  w.options.run.max_attempts = 3;
  bool broken = true;
  // Every search page (not count) starting in 2021 answers garbage.
  w.src.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (broken && r.url.find("ge2021") != std::string::npos &&
        r.url.find("_summary") == std::string::npos) {
      http::Response bad;
      bad.status = 200;
      bad.body = "{\"resourceType\":\"Bundle\",";
      return bad;
    }
    return std::nullopt;
  });
  {
    auto e = w.MakeEngine();
    auto summary = e->runner.RunOnce();
    ASSERT_FALSE(summary.ok());
    EXPECT_EQ(summary.error().kind, base::ErrorKind::kHalted);
    EXPECT_NE(summary.error().message.find(kHaltedPrefix), std::string::npos)
        << summary.error().ToString();
  }
  auto state = *w.store->GetMigration();
  EXPECT_TRUE(state.halted);
  EXPECT_NE(state.halt_reason.find("failed 3 times"), std::string::npos) << state.halt_reason;
  ASSERT_TRUE(state.watermark.has_value());
  EXPECT_LE(*state.watermark, At("2021-01-01T00:00:00Z") + base::Millis(30LL * 86'400'000));
  for (const auto& win : *w.store->ListWindows()) {
    if (win.status == store::WindowStatus::kFailed) {
      EXPECT_GE(win.since, *state.watermark);
    }
  }
  // A halted migration does nothing until the halt is cleared.
  broken = false;
  EXPECT_FALSE(w.MakeEngine()->runner.RunOnce().ok());
  state.halted = false;
  state.halt_reason.clear();
  ASSERT_TRUE(w.store->PutMigration(state).ok());
  auto rerun = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(rerun.ok()) << rerun.error().ToString();
  w.ExpectDestinationEqualsSource();
}

TEST(RunnerTest, AnInterruptedWindowStartsOverAndNothingIsLost) {
  World w;
  SeedYears(w, 40);
  std::atomic<int> bundles{0};  // counted by every loader lane
  w.dst.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (r.method == "POST" && ++bundles == 5) w.clock.Interrupt();
    return std::nullopt;
  });
  {
    auto e = w.MakeEngine();
    auto summary = e->runner.RunOnce();
    ASSERT_TRUE(summary.ok()) << summary.error().ToString();
    EXPECT_TRUE(summary->interrupted);
  }
  EXPECT_LT(w.dst.size(), w.src.size());
  // A restart is a new process: a new clock that is not interrupted.
  env::ManualClock fresh(w.clock.Now());
  auto restarted = w.MakeEngine(fresh);
  auto summary = restarted->runner.RunOnce();
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  w.ExpectDestinationEqualsSource();
  for (const auto& win : *w.store->ListWindows()) {
    EXPECT_EQ(win.status, store::WindowStatus::kLoaded);
  }
}

TEST(RunnerTest, RejectedResourcesAreCountedAndDoNotBlockTheWatermark) {
  World w;
  SeedYears(w, 12);
  w.src.Seed(
      R"({"resourceType":"Patient","id":"reject-me","meta":{"lastUpdated":"2020-06-06T00:00:00.000Z"}})");
  w.dst.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (r.method == "POST" && r.body.find("reject-me") != std::string::npos) {
      http::Response bad;
      bad.status = 422;
      bad.body =
          R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Patient.name: minimum required = 1"}]})";
      return bad;
    }
    return std::nullopt;
  });
  auto summary = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_EQ(summary->resources_failed, 1);
  EXPECT_EQ(*w.store->CountFailures(false), 1);
  EXPECT_EQ(w.dst.size(), w.src.size() - 1);
  EXPECT_EQ(w.store->GetMigration()->watermark, w.clock.Now() - w.options.plan.safety_lag);
}

TEST(RunnerTest, PerTypeModeLoadsOneWindowPerTypePerRangeAndEveryTypeEndsAtTheWatermark) {
  World w;
  SeedYears(w, 60);
  w.options.plan.per_type = true;
  auto summary = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_EQ(summary->resources_loaded, 60);
  w.ExpectDestinationEqualsSource();
  base::Instant horizon = w.clock.Now() - w.options.plan.safety_lag;
  auto state = *w.store->GetMigration();
  EXPECT_EQ(state.watermark, horizon);
  std::map<std::string, std::vector<std::pair<base::Instant, base::Instant>>> ranges;
  for (const auto& win : *w.store->ListWindows()) {
    EXPECT_EQ(win.status, store::WindowStatus::kLoaded);
    ASSERT_FALSE(win.resource_type.empty()) << "window #" << win.id << " covers all types";
    ranges[win.resource_type].emplace_back(win.since, win.till);
  }
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges["Patient"], ranges["Observation"]);  // neither type needed a split
  const auto& r = ranges["Patient"];
  EXPECT_EQ(r.front().first, *state.start);
  for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].first, r[i - 1].second);
  EXPECT_EQ(r.back().second, horizon);
  // Each window extracted its own type only.
  for (const auto& t : *w.store->TotalCounts()) {
    EXPECT_EQ(t.extracted, t.resource_type == "Patient" ? 20 : 40) << t.resource_type;
  }
}

TEST(RunnerTest, PerTypeWatermarkStaysBeforeAFailingWindowWhileOtherTypesMoveOn) {
  World w;
  SeedYears(w, 30);
  w.options.plan.per_type = true;
  w.options.run.max_attempts = 3;
  bool broken = true;
  // Observation search pages (not counts) starting in 2021 answer garbage.
  w.src.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (broken && r.url.find("/Observation?") != std::string::npos &&
        r.url.find("ge2021") != std::string::npos && r.url.find("_summary") == std::string::npos) {
      http::Response bad;
      bad.status = 200;
      bad.body = "{\"resourceType\":\"Bundle\",";
      return bad;
    }
    return std::nullopt;
  });
  ASSERT_FALSE(w.MakeEngine()->runner.RunOnce().ok());
  auto state = *w.store->GetMigration();
  ASSERT_TRUE(state.halted);
  ASSERT_TRUE(state.watermark.has_value());
  std::optional<base::Instant> failed_since;
  for (const auto& win : *w.store->ListWindows()) {
    if (win.status != store::WindowStatus::kFailed) continue;
    EXPECT_EQ(win.resource_type, "Observation");
    if (!failed_since || win.since < *failed_since) failed_since = win.since;
  }
  ASSERT_TRUE(failed_since.has_value());
  EXPECT_LE(*state.watermark, *failed_since);
  // The Patient window over the same range was loaded all the same.
  bool patient_loaded = false;
  for (const auto& win : *w.store->ListWindows()) {
    patient_loaded =
        patient_loaded || (win.resource_type == "Patient" && win.since == *failed_since &&
                           win.status == store::WindowStatus::kLoaded);
  }
  EXPECT_TRUE(patient_loaded);
  broken = false;
  state.halted = false;
  state.halt_reason.clear();
  ASSERT_TRUE(w.store->PutMigration(state).ok());
  auto rerun = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(rerun.ok()) << rerun.error().ToString();
  w.ExpectDestinationEqualsSource();
  std::map<std::string, base::Instant> ends;
  for (const auto& win : *w.store->ListWindows()) ends[win.resource_type] = win.till;
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends["Patient"], ends["Observation"]);
  EXPECT_EQ(w.store->GetMigration()->watermark, ends["Patient"]);
}

// Windows in flight together add to one run summary from their threads. A
// window that halted the migration once wrote `halted` into it unguarded, and
// the counters went under two different mutexes; ThreadSanitizer (the tsan
// preset) reported the race when several windows failed for the last time at
// once, as here.
TEST(RunnerTest, WindowsFailingTogetherHaltTheMigrationOnce) {
  World w;
  SeedYears(w, 36);
  w.options.run.windows_in_flight = 3;
  w.options.run.max_attempts = 1;
  w.src.SetOverride([](const http::Request& r) -> std::optional<http::Response> {
    // Window pages only: the planner's probes and counts still work.
    if (r.url.find("ge202") == std::string::npos || r.url.find("_summary") != std::string::npos) {
      return std::nullopt;
    }
    http::Response bad;
    bad.status = 200;
    bad.body = "{\"resourceType\":\"Bundle\",";
    return bad;
  });
  auto summary = w.MakeEngine()->runner.RunOnce();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message.rfind(kHaltedPrefix, 0), 0u) << summary.error().message;
  auto state = *w.store->GetMigration();
  EXPECT_TRUE(state.halted);
  int failed = 0;
  for (const auto& win : *w.store->ListWindows())
    failed += win.status == store::WindowStatus::kFailed;
  EXPECT_GE(failed, 2);  // at least two were in flight together
  EXPECT_EQ(w.dst.size(), 0u);
}

// The $import loader forgets a passthrough window's export when its import
// failed, so that the retry exports again for new URLs. Recording the failure
// from the runner's stale copy of the window once wrote the export back, and
// the retry "loaded" a window that no longer had files: 0 of 0.
TEST(RunnerTest, AFailedWindowKeepsWhatItsLoaderRecordedOnIt) {
  World w;
  SeedYears(w, 6);
  w.options.load = LoadMode::kImport;
  w.options.run.max_attempts = 1;
  struct ForgettingLoader : WindowLoader {
    store::StateStore* store = nullptr;
    base::Result<LoadTotals> LoadWindow(const store::Window& window) override {
      store::Window fresh = *store->GetWindow(window.id);
      fresh.export_url.clear();
      fresh.manifest_json = "forgotten";
      EXPECT_TRUE(store->UpdateWindow(fresh).ok());
      return base::MakeError(base::ErrorKind::kInvalidData, "import fell short");
    }
  } loader;
  loader.store = w.store.get();
  auto e = w.MakeEngine();
  e->runner.SetWindowLoader(&loader);
  EXPECT_FALSE(e->runner.RunOnce().ok());  // halted
  int failed = 0;
  for (const auto& win : *w.store->ListWindows()) {
    if (win.status != store::WindowStatus::kFailed) continue;
    ++failed;
    EXPECT_EQ(win.manifest_json, "forgotten");
    EXPECT_EQ(win.attempts, 1);
    EXPECT_NE(win.last_error.find("fell short"), std::string::npos) << win.last_error;
  }
  EXPECT_EQ(failed, 1);
}

// A full staging disk used to count as a failed attempt of the window: every
// retry failed the same way, the migration halted (exit 5) and needed
// clear-halt once space was freed. It is the operator's to fix, not the
// window's: the run stops at once with the storage error (exit 7), counts
// no attempt, does not halt, and the window starts over on the next run.
TEST(RunnerTest, AFullStagingDiskStopsTheRunWithoutFailingOrHaltingTheWindow) {
  World w;
  SeedYears(w, 6);
  w.options.load = LoadMode::kImport;
  w.options.run.max_attempts = 1;
  struct FullDiskLoader : WindowLoader {
    int calls = 0;
    bool full = true;
    base::Result<LoadTotals> LoadWindow(const store::Window&) override {
      ++calls;
      if (full) {
        return base::MakeError(base::ErrorKind::kStorage,
                               "cannot write staging/window-1/Patient-1.ndjson: No space left "
                               "on device (the disk is full: free space or move it)");
      }
      return LoadTotals{};
    }
  } loader;
  {
    auto e = w.MakeEngine();
    e->runner.SetWindowLoader(&loader);
    auto run = e->runner.RunOnce();
    ASSERT_FALSE(run.ok());
    EXPECT_EQ(run.error().kind, base::ErrorKind::kStorage) << run.error().ToString();
  }
  EXPECT_EQ(loader.calls, 1);  // not retried within the run
  auto state = *w.store->GetMigration();
  EXPECT_FALSE(state.halted) << state.halt_reason;
  for (const auto& win : *w.store->ListWindows()) {
    EXPECT_NE(win.status, store::WindowStatus::kFailed);
    EXPECT_EQ(win.attempts, 0);
  }
  // Space freed: the next run loads every window.
  loader.full = false;
  auto e = w.MakeEngine();
  e->runner.SetWindowLoader(&loader);
  ASSERT_TRUE(e->runner.RunOnce().ok());
  for (const auto& win : *w.store->ListWindows()) {
    EXPECT_EQ(win.status, store::WindowStatus::kLoaded);
  }
}

// With bulk _history, versions of one resource span windows: had the windows
// after a failed one loaded while it waited for its retry, the retry would
// have sent older versions last.
TEST(RunnerTest, WithBulkHistoryAFailedWindowHoldsBackTheLaterOnes) {
  World w;
  SeedYears(w, 30);
  w.options.extract = ExtractMode::kBulk;
  w.options.bulk.include_associated_data = {"_history", "_deleted"};
  w.options.run.windows_in_flight = 3;
  ASSERT_TRUE(LoadsWindowsInOrder(w.options));
  // The first page of the first 2021 window fails once (whichever thread asks).
  std::atomic<bool> broken{true};
  w.src.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (r.url.find("ge2021") != std::string::npos && r.url.find("_summary") == std::string::npos &&
        broken.exchange(false)) {
      http::Response bad;
      bad.status = 200;
      bad.body = "not json";
      return bad;
    }
    return std::nullopt;
  });
  auto summary = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(summary.ok()) << summary.error().ToString();
  EXPECT_EQ(summary->window_failures, 1);
  w.ExpectDestinationEqualsSource();
  auto windows = *w.store->ListWindows();
  const store::Window* failed = nullptr;
  for (const auto& win : windows) {
    if (win.attempts > 0) failed = &win;
  }
  ASSERT_NE(failed, nullptr);
  for (const auto& win : windows) {
    EXPECT_EQ(win.status, store::WindowStatus::kLoaded);
    if (win.since > failed->since && win.resources_extracted > 0) {  // not planned empty
      EXPECT_GE(win.updated_at, failed->updated_at)
          << "window #" << win.id << " loaded before #" << failed->id << " was retried";
    }
  }
}

}  // namespace
}  // namespace fm::migrate
