// Crash safety: the real binary is killed with SIGKILL at random instants of
// a migration, at least 20 times, rerun each time, and must end with the
// destination equal to the source, a consistent state store, and nothing that
// the state store recorded as loaded ever loaded again.
//
// The kills follow a seeded plan (FM_CRASH_SEED, else the time; printed, and
// named in every failure): a few after a random delay from the start
// (startup, planning, the first windows), most once the destination has
// received a random number of Bundles since the run started (wherever the
// tool then is: extracting, sending, committing), and some while the
// destination holds the answer to a Bundle it has applied (switch
// holdBatchMs), that is between the destination accepting a Bundle and the
// state store recording it. Every planned kill must happen.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "base/time.h"
#include "store/state_store.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;

enum class Kill { kAfterDelay, kAfterBundles, kWhileAnswerHeld };

const char* Name(Kill k) {
  switch (k) {
    case Kill::kAfterDelay:
      return "after a delay";
    case Kill::kAfterBundles:
      return "after some Bundles";
    case Kill::kWhileAnswerHeld:
      return "while a Bundle's answer is held";
  }
  return "?";
}

struct Planned {
  Kill kind;
  int amount;  // ms of delay, or Bundles since the run started
};

uint64_t Seed() {
  if (const char* s = std::getenv("FM_CRASH_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

class CrashTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_crash");
  std::string state = dir + "/state.db";

  std::vector<std::string> Argv() {
    return {FhirMigrateBinary(),
            "-o",
            "source.url=" + source.base_url(),
            "-o",
            "destination.url=" + destination.base_url(),
            "-o",
            "state.path=" + state,
            "-o",
            "migration.window=14d",
            "-o",
            "rest.batch_size=10",
            "-o",
            "rest.concurrency=2",
            "-o",
            "search.page_size=50",
            "run",
            "--once"};
  }

  Json DestinationStats() { return Json::parse(destination.Stats()); }
  int BundlesReceived() { return DestinationStats()["requests"].value("POST batch", 0); }

  // Runs the binary and kills it as `plan` says. False (and a failure) when
  // the run ended before the kill.
  bool RunAndKill(const Planned& plan, int n) {
    SpawnOptions o;
    o.argv = Argv();
    o.stdout_path = dir + "/kill-" + std::to_string(n) + ".log";
    const int bundles_at_start = BundlesReceived();
    const int held_at_start = DestinationStats()["batchesHeldTotal"].get<int>();
    Process p(o);
    bool holding = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      if (!p.Running()) {
        ADD_FAILURE() << "kill " << n << " (" << Name(plan.kind) << ", " << plan.amount
                      << ") never happened: the run ended first\n"
                      << ReadFile(o.stdout_path);
        return false;
      }
      bool now = false;
      if (plan.kind == Kill::kAfterDelay) {
        now = std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(plan.amount);
      } else if (!holding && BundlesReceived() - bundles_at_start >= plan.amount) {
        if (plan.kind == Kill::kAfterBundles) {
          now = true;
        } else {
          destination.SetFaults(R"({"holdBatchMs":20000})");
          holding = true;
        }
      } else if (holding) {
        now = DestinationStats()["batchesHeldTotal"].get<int>() > held_at_start;
      }
      if (now) {
        p.Signal(SIGKILL);
        EXPECT_EQ(p.Wait(std::chrono::seconds(10)).value_or(0), 128 + SIGKILL) << "kill " << n;
        if (holding) destination.SetFaults("{}");
        return true;
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(plan.kind == Kill::kAfterDelay ? 1 : 2));
    }
    ADD_FAILURE() << "kill " << n << " timed out";
    return false;
  }
};

// The windows loaded in `store` and the source resources they hold.
std::set<std::string> InLoadedWindows(store::StateStore& store,
                                      const std::map<std::string, base::Instant>& updated_at,
                                      std::vector<store::Window>* windows_out = nullptr) {
  std::set<std::string> keys;
  auto windows = store.ListWindows();
  EXPECT_TRUE(windows.ok());
  if (!windows.ok()) return keys;
  for (const auto& [key, at] : updated_at) {
    for (const auto& w : *windows) {
      if (w.status == store::WindowStatus::kLoaded && at >= w.since && at < w.till) {
        keys.insert(key);
        break;
      }
    }
  }
  if (windows_out) *windows_out = *windows;
  return keys;
}

TEST_F(CrashTest, KilledAtRandomInstantsTheRerunsLoseNothingAndLoadNothingRecordedTwice) {
  const uint64_t seed = Seed();
  RecordProperty("FM_CRASH_SEED", std::to_string(seed));
  SCOPED_TRACE("FM_CRASH_SEED=" + std::to_string(seed));
  std::cout << "crash test: FM_CRASH_SEED=" << seed << std::endl;
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  std::string ndjson = Generate(2000, 11, "2021-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  std::map<std::string, base::Instant> updated_at;  // "Type/id" → meta.lastUpdated on the source
  for (size_t pos = 0; pos < ndjson.size();) {
    size_t end = ndjson.find('\n', pos);
    if (end == std::string::npos) end = ndjson.size();
    Json r = Json::parse(ndjson.substr(pos, end - pos));
    auto at = base::ParseInstant(r["meta"]["lastUpdated"].get<std::string>());
    ASSERT_TRUE(at.ok());
    updated_at[r["resourceType"].get<std::string>() + "/" + r["id"].get<std::string>()] = *at;
    pos = end + 1;
  }

  // The plan: three early kills, then 19 at random points of the loading, 5
  // of them while an applied Bundle's answer is held. At least 200 Bundles
  // carry the migration (more with what is sent again after a kill); the
  // plan asks for at most 6 per run, 114 in all, so every kill comes before
  // the end whatever the draw.
  std::vector<Planned> plan;
  for (int i = 0; i < 3; ++i) plan.push_back({Kill::kAfterDelay, uniform(0, 250)});
  std::vector<Planned> later;
  for (int i = 0; i < 14; ++i) later.push_back({Kill::kAfterBundles, uniform(1, 6)});
  for (int i = 0; i < 5; ++i) later.push_back({Kill::kWhileAnswerHeld, uniform(0, 6)});
  std::shuffle(later.begin(), later.end(), rng);
  plan.insert(plan.end(), later.begin(), later.end());

  // After each kill: what the destination holds, and what the state store
  // recorded as loaded. A resource of a loaded window must never change again.
  struct Snapshot {
    Versions versions;
    std::set<std::string> recorded;
  };
  std::vector<Snapshot> snapshots;
  int held_checked = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    SCOPED_TRACE("kill " + std::to_string(i) + " (" + Name(plan[i].kind) + ", " +
                 std::to_string(plan[i].amount) + ")");
    ASSERT_TRUE(RunAndKill(plan[i], static_cast<int>(i)));
    auto store = store::OpenSqliteStateStore({state, /*read_only=*/true});
    if (!store.ok()) {
      // Killed before the state file was created.
      ASSERT_EQ(plan[i].kind, Kill::kAfterDelay) << store.error().ToString();
      continue;
    }
    Snapshot snap;
    snap.versions = VersionCounts(destination);
    std::vector<store::Window> windows;
    snap.recorded = InLoadedWindows(**store, updated_at, &windows);
    if (plan[i].kind == Kill::kWhileAnswerHeld) {
      // Applied by the destination, unanswered, so never recorded as loaded.
      Json held = DestinationStats()["lastHeldBundle"];
      ASSERT_FALSE(held.empty());
      for (const auto& key : held) {
        std::string k = key.get<std::string>();
        EXPECT_GE(snap.versions[k], 1) << k << " was not applied";
        EXPECT_EQ(snap.recorded.count(k), 0u)
            << k << ": its window was recorded as loaded before the destination answered";
        ++held_checked;
      }
    }
    snapshots.push_back(std::move(snap));
  }
  EXPECT_GT(held_checked, 0);

  auto final_run = harness::Run(Argv());
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // Nothing recorded as loaded was loaded again, by the destination's own
  // history; what was in flight at a kill may have been sent twice.
  Versions final_versions = VersionCounts(destination);
  for (size_t i = 0; i < snapshots.size(); ++i) {
    auto again = LoadedAgain(snapshots[i].versions, final_versions, snapshots[i].recorded);
    EXPECT_TRUE(again.empty()) << "after kill " << i << ": " << FirstFew(again);
  }
  EXPECT_EQ(final_versions.size(), updated_at.size());
  std::cout << "crash test: " << plan.size() << " kills, " << BundlesReceived()
            << " Bundles received, " << MoreVersionsThan(final_versions, 1).size()
            << " resources sent again after being in flight at a kill" << std::endl;

  // The state store is consistent: contiguous loaded windows, watermark at the
  // last till, every resource counted once, no failures.
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
  int64_t extracted = 0;
  for (const auto& t : *(*store)->TotalCounts()) extracted += t.extracted;
  EXPECT_EQ(extracted, static_cast<int64_t>(updated_at.size()));
  EXPECT_EQ(*(*store)->CountFailures(true), 0);
}

}  // namespace
}  // namespace fm::harness
