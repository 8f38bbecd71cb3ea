// Crash safety: the real binary is killed with SIGKILL at several moments of
// a migration (mid-planning, mid-window, between windows), rerun each time,
// and the destination must end equal to the source with a consistent state.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <thread>

#include "store/state_store.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Predicate = std::function<bool(const std::vector<store::Window>&)>;

class CrashTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_crash");
  std::string state = dir + "/state.db";

  std::vector<std::string> Argv() {
    return {FhirMigrateBinary(),
            "-o", "source.url=" + source.base_url(),
            "-o", "destination.url=" + destination.base_url(),
            "-o", "state.path=" + state,
            "-o", "migration.window=7d",
            "-o", "rest.batch_size=25",
            "-o", "rest.concurrency=2",
            "-o", "search.page_size=50",
            "run", "--once"};
  }

  // Starts a run and SIGKILLs it as soon as `when` holds for the state store.
  // Returns false if the run finished before the moment came.
  bool RunAndKill(const Predicate& when, const std::string& moment) {
    SpawnOptions o;
    o.argv = Argv();
    o.stdout_path = dir + "/" + moment + ".log";
    Process p(o);
    std::unique_ptr<store::StateStore> reader;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!p.Running()) return false;
      if (!reader) {
        auto opened = store::OpenSqliteStateStore({state, /*read_only=*/true});
        if (opened.ok()) reader = std::move(*opened);
      }
      if (reader) {
        auto windows = reader->ListWindows();
        if (windows.ok() && when(*windows)) {
          p.Signal(SIGKILL);
          auto code = p.Wait(std::chrono::seconds(10));
          EXPECT_EQ(code.value_or(0), 128 + SIGKILL) << moment;
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "timed out waiting for " << moment;
    return false;
  }
};

int Count(const std::vector<store::Window>& ws, store::WindowStatus s, bool with_data) {
  int n = 0;
  for (const auto& w : ws) {
    if (w.status == s && (!with_data || w.resources_loaded > 0)) ++n;
  }
  return n;
}

TEST_F(CrashTest, KilledAtAnyMomentTheRerunLosesAndDuplicatesNothing) {
  std::string ndjson = Generate(4000, 11, "2021-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  const int64_t total = std::count(ndjson.begin(), ndjson.end(), '\n');

  int killed = 0;
  // 1. Mid-planning: some windows recorded, none extracted yet.
  killed += RunAndKill([](const std::vector<store::Window>& ws) {
    return ws.size() >= 3 && Count(ws, store::WindowStatus::kExtracting, false) == 0 &&
           Count(ws, store::WindowStatus::kLoaded, true) == 0;
  }, "mid-planning");
  // 2. Mid-window: a window is being extracted and loaded.
  killed += RunAndKill([](const std::vector<store::Window>& ws) {
    return Count(ws, store::WindowStatus::kExtracting, false) > 0;
  }, "mid-window");
  // 3. Between windows: right after one more window committed as loaded.
  int loaded_before = -1;
  killed += RunAndKill([&](const std::vector<store::Window>& ws) {
    int loaded = Count(ws, store::WindowStatus::kLoaded, true);
    if (loaded_before < 0) loaded_before = loaded;
    return loaded > loaded_before;
  }, "between-windows");
  // 4. Mid-window again, later in the run.
  killed += RunAndKill([](const std::vector<store::Window>& ws) {
    return Count(ws, store::WindowStatus::kLoaded, true) >= 10 &&
           Count(ws, store::WindowStatus::kExtracting, false) > 0;
  }, "mid-window-late");
  EXPECT_GE(killed, 3) << "the run finished before the moments could be hit";

  auto final_run = harness::Run(Argv());
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // The state store is consistent: contiguous loaded windows, watermark at the
  // last till, every resource counted exactly once, no failures.
  auto store = store::OpenSqliteStateStore({state, true});
  ASSERT_TRUE(store.ok());
  auto windows = *(*store)->ListWindows();
  ASSERT_FALSE(windows.empty());
  for (size_t i = 0; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].status, store::WindowStatus::kLoaded) << "window " << windows[i].id;
    if (i) {
      EXPECT_EQ(windows[i].since, windows[i - 1].till) << "gap at window " << windows[i].id;
    }
  }
  auto migration = *(*store)->GetMigration();
  ASSERT_TRUE(migration.watermark.has_value());
  EXPECT_EQ(*migration.watermark, windows.back().till);
  int64_t extracted = 0, loaded = 0;
  for (const auto& t : *(*store)->TotalCounts()) {
    extracted += t.extracted;
    loaded += t.loaded;
  }
  EXPECT_EQ(extracted, total);
  EXPECT_EQ(loaded, total);
  EXPECT_EQ(*(*store)->CountFailures(true), 0);
}

}  // namespace
}  // namespace fm::harness
