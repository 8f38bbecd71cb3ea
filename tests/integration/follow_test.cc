// `run --follow` against two real FHIR servers: while it runs, new and
// updated resources written to the source appear on the destination (how
// long after is printed: poll_interval + safety_lag plus the work),
// `status --json` reports the lag, and SIGTERM stops it gracefully with exit
// code 0.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::steady_clock;

TEST(FollowTest, ChangesWrittenWhileFollowingArriveAndSigtermStopsCleanly) {
  FhirServer source("source");
  FhirServer destination("destination");
  std::string dir = TempDir("fm_follow");
  std::string state = dir + "/state.db";
  source.LoadNdjson(Generate(500, 21, "2023-01-01", "2023-12-01"));

  SpawnOptions o;
  o.argv = {FhirMigrateBinary(),
            "-o",
            "source.url=" + source.base_url(),
            "-o",
            "destination.url=" + destination.base_url(),
            "-o",
            "state.path=" + state,
            "-o",
            "migration.poll_interval=1s",
            "-o",
            "migration.safety_lag=1s",
            "run",
            "--follow"};
  o.stdout_path = dir + "/run.log";
  Process run(o);

  auto status = [&] {
    auto r = RunMigrate({"status", "--json"}, source, destination, state);
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  };
  // Catch-up first (generous deadlines: the machine may be busy; how long
  // things took is printed, never asserted).
  bool caught_up = false;
  auto deadline = steady_clock::now() + minutes(5);
  while (!caught_up && steady_clock::now() < deadline) {
    auto s = status();
    caught_up = !s.is_null() && !s["watermark"].is_null() &&
                s["windows"]["loaded"] == s["windows"]["total"];
    if (!caught_up) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_TRUE(caught_up) << ReadFile(dir + "/run.log");
  ASSERT_TRUE(run.Running()) << ReadFile(dir + "/run.log");

  // Live writes on the source: one new resource, one update.
  auto first = nlohmann::json::parse(source.Get("/Patient?_count=1").body)["entry"][0]["resource"];
  first["name"] = nlohmann::json::array({{{"family", "Followed"}}});
  first.erase("meta");
  ASSERT_LT(source.Put("/Patient/" + first["id"].get<std::string>(), first.dump()).status, 300);
  nlohmann::json fresh = {
      {"resourceType", "Patient"}, {"id", "live-1"}, {"name", {{{"family", "Live"}}}}};
  ASSERT_EQ(source.Put("/Patient/live-1", fresh.dump()).status, 201);
  auto written = steady_clock::now();

  bool arrived = false;
  while (!arrived && steady_clock::now() < written + minutes(5)) {
    auto a = destination.Get("/Patient/live-1");
    auto b = destination.Get("/Patient/" + first["id"].get<std::string>());
    arrived = a.status == 200 && b.status == 200 && b.body.find("Followed") != std::string::npos;
    if (!arrived) std::this_thread::sleep_for(milliseconds(100));
  }
  auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - written);
  ASSERT_TRUE(arrived) << ReadFile(dir + "/run.log");
  std::printf("[ follow ] changes arrived after %lld ms (poll 1s + lag 1s)\n",
              static_cast<long long>(took.count()));

  // The lag `status` reports is measured from the watermark, which is past
  // the live writes now that they arrived: at most the time since then.
  auto s = status();
  auto since_written = std::chrono::duration_cast<seconds>(steady_clock::now() - written);
  ASSERT_FALSE(s.is_null());
  ASSERT_FALSE(s["lag_seconds"].is_null());
  std::printf("[ follow ] status reports a lag of %lld s\n",
              static_cast<long long>(s["lag_seconds"].get<int64_t>()));
  EXPECT_GE(s["lag_seconds"].get<int64_t>(), 0);
  EXPECT_LE(s["lag_seconds"].get<int64_t>(), since_written.count() + 1);
  EXPECT_FALSE(s["last_success_at"].is_null());

  run.Signal(SIGTERM);
  auto code = run.Wait(seconds(20));
  ASSERT_TRUE(code.has_value()) << "follow did not stop on SIGTERM";
  EXPECT_EQ(*code, 0) << ReadFile(dir + "/run.log");
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());
}

}  // namespace
}  // namespace fm::harness
