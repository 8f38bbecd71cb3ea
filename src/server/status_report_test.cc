// Golden test of the `status` text and schema test of the JSON, over a state
// built in an in-memory SQLite store with a fixed clock.
#include "server/status_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "env/clock.h"

namespace fm::server {
namespace {

base::Instant T(const char* text) { return base::ParseInstant(text).value(); }

std::unique_ptr<store::StateStore> BuildStore() {
  auto opened = store::OpenSqliteStateStore({":memory:"});
  EXPECT_TRUE(opened.ok());
  auto s = std::move(opened).value();
  store::MigrationState m;
  m.start = T("2024-01-01T00:00:00Z");
  m.watermark = T("2024-03-01T00:00:00Z");
  m.last_success_at = T("2024-06-01T11:58:00Z");
  EXPECT_TRUE(s->PutMigration(m).ok());
  const char* bounds[] = {"2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z",
                          "2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z"};
  store::WindowStatus states[] = {store::WindowStatus::kLoaded, store::WindowStatus::kLoaded,
                                  store::WindowStatus::kLoading, store::WindowStatus::kPlanned};
  for (int i = 0; i < 4; ++i) {
    store::Window w;
    w.since = T(bounds[i]);
    w.till = T(bounds[i + 1]);
    w.status = states[i];
    w.resources_extracted = i < 2 ? 300 : 0;
    w.resources_loaded = i < 2 ? 299 - i : 0;
    w.resources_failed = i < 2 ? 1 + i : 0;
    w.updated_at = T(i == 0 ? "2024-06-01T11:50:00Z" : "2024-06-01T11:59:30Z");
    if (i < 2) w.started_at = T(i == 0 ? "2024-06-01T11:49:00Z" : "2024-06-01T11:59:10Z");
    auto id = s->AddWindow(w);
    EXPECT_TRUE(id.ok());
    if (i < 2) {
      EXPECT_TRUE(s->AddCounts(*id, {"Patient", 100, 100 - i, i}).ok());
      EXPECT_TRUE(s->AddCounts(*id, {"Observation", 200, 199, 1}).ok());
    }
  }
  auto fail = [&](int64_t window, const char* type, const char* id, int status,
                  const char* reason) {
    store::Failure f;
    f.window_id = window;
    f.stage = "load";
    f.resource_type = type;
    f.resource_id = id;
    f.http_status = status;
    f.reason = reason;
    f.at = T("2024-06-01T11:57:00Z");
    EXPECT_TRUE(s->AddFailure(f).ok());
  };
  fail(1, "Observation", "o1", 400, "invalid code");
  fail(2, "Observation", "o2", 400, "invalid code");
  fail(2, "Patient", "p7", 422, "birthDate in the future");
  store::CheckRecord c;
  c.kind = "surface";
  c.at = T("2024-06-01T11:00:00Z");
  c.passed = false;
  c.summary_json = "{}";
  EXPECT_TRUE(s->AddCheck(c).ok());
  return s;
}

std::string ReadGolden(const std::string& name) {
  std::ifstream in(std::string(FM_SERVER_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// FM_UPDATE_GOLDEN=1 rewrites a golden file after a deliberate change: it is
// for people. Under CI (the environment variable CI is set, as CI services
// set it) the rewrite is refused, since a run that rewrites its own
// expectation always passes. Returns why it refused, or "" (written, or not
// asked for).
std::string UpdateGolden(const std::string& path, const std::string& text, const char* update,
                         const char* ci) {
  if (update == nullptr) return "";
  if (ci != nullptr) {
    return "FM_UPDATE_GOLDEN is set under CI (CI=" + std::string(ci) + "): " + path +
           " is not rewritten; update it by hand and commit it";
  }
  std::ofstream(path) << text;
  return "";
}

TEST(StatusReport, TextMatchesTheGoldenFile) {
  auto store = BuildStore();
  auto report = GatherStatus(*store, T("2024-06-01T12:00:00Z"));
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  std::string text = StatusText(*report);
  std::string refused = UpdateGolden(std::string(FM_SERVER_TESTDATA) + "/status.golden", text,
                                     std::getenv("FM_UPDATE_GOLDEN"), std::getenv("CI"));
  EXPECT_EQ(refused, "");
  EXPECT_EQ(text, ReadGolden("status.golden"));
}

TEST(StatusReport, TheGoldenFileIsNeverRewrittenUnderCi) {
  char dir_template[] = "/tmp/fm_golden_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/status.golden";
  std::ofstream(path) << "expected";
  auto read = [&] {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string refused = UpdateGolden(path, "what the code prints now", "1", "true");
  EXPECT_NE(refused.find("FM_UPDATE_GOLDEN is set under CI"), std::string::npos) << refused;
  EXPECT_EQ(read(), "expected");
  EXPECT_EQ(UpdateGolden(path, "what the code prints now", nullptr, "true"), "");
  EXPECT_EQ(read(), "expected");
  EXPECT_EQ(UpdateGolden(path, "what the code prints now", "1", nullptr), "");
  EXPECT_EQ(read(), "what the code prints now");
  std::remove(path.c_str());
  ::rmdir(dir_template);
}

TEST(StatusReport, EmptyStoreSaysSo) {
  auto store = store::OpenSqliteStateStore({":memory:"}).value();
  auto report = GatherStatus(*store, T("2024-06-01T12:00:00Z"));
  ASSERT_TRUE(report.ok());
  std::string text = StatusText(*report);
  EXPECT_NE(text.find("watermark:    none yet"), std::string::npos) << text;
  EXPECT_NE(text.find("last check:   none"), std::string::npos) << text;
  auto j = nlohmann::json::parse(StatusJson(*report));
  EXPECT_TRUE(j["watermark"].is_null());
  EXPECT_TRUE(j["lag_seconds"].is_null());
  EXPECT_EQ(j["windows"]["total"], 0);
}

// The schema documented in docs/status.md: every field, its JSON type.
TEST(StatusReport, JsonFollowsTheSchema) {
  auto store = BuildStore();
  auto report = GatherStatus(*store, T("2024-06-01T12:00:00Z"));
  ASSERT_TRUE(report.ok());
  std::string text = StatusJson(*report);
  ASSERT_EQ(text.back(), '\n');
  auto j = nlohmann::json::parse(text);
  using K = nlohmann::json::value_t;
  auto is_str = [](const nlohmann::json& v) { return v.is_string(); };
  auto is_int = [](const nlohmann::json& v) { return v.is_number_integer(); };
  EXPECT_EQ(j["schema"], "fhir-migrate.status/1");
  for (const char* k : {"now", "start", "watermark", "last_success_at"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(is_str(j[k])) << k;
  }
  EXPECT_EQ(j["now"], "2024-06-01T12:00:00.000Z");
  EXPECT_EQ(j["watermark"], "2024-03-01T00:00:00.000Z");
  EXPECT_EQ(j["lag_seconds"], 92 * 86400 + 12 * 3600);
  EXPECT_EQ(j["halted"].type(), K::boolean);
  EXPECT_TRUE(j["halt_reason"].is_null());
  const auto& w = j["windows"];
  for (const char* k :
       {"total", "planned", "extracting", "extracted", "loading", "loaded", "failed"}) {
    ASSERT_TRUE(w.contains(k)) << k;
    EXPECT_TRUE(is_int(w[k])) << k;
  }
  EXPECT_EQ(w["total"], 4);
  EXPECT_EQ(w["loaded"], 2);
  ASSERT_EQ(j["types"].size(), 2u);
  for (const auto& t : j["types"]) {
    EXPECT_TRUE(is_str(t["type"]));
    for (const char* k : {"extracted", "loaded", "failed"}) EXPECT_TRUE(is_int(t[k])) << k;
  }
  const auto& f = j["failures"];
  EXPECT_EQ(f["unresolved"], 3);
  ASSERT_EQ(f["by_reason"].size(), 2u);
  EXPECT_EQ(f["by_reason"][0]["reason"], "400 invalid code");
  EXPECT_EQ(f["by_reason"][0]["count"], 2);
  ASSERT_EQ(f["recent"].size(), 3u);
  EXPECT_EQ(f["recent"][0]["id"], "p7");  // newest first
  for (const char* k : {"window", "http_status"}) EXPECT_TRUE(is_int(f["recent"][0][k])) << k;
  for (const char* k : {"stage", "type", "id", "reason", "at"})
    EXPECT_TRUE(is_str(f["recent"][0][k])) << k;
  const auto& c = j["last_check"];
  EXPECT_EQ(c["kind"], "surface");
  EXPECT_EQ(c["passed"], false);
  EXPECT_TRUE(is_str(c["at"]));
  const auto& tp = j["throughput"];
  EXPECT_EQ(tp["span_seconds"], 60);
  EXPECT_EQ(tp["windows"], 1);  // only the window loaded 30 s ago
  EXPECT_EQ(tp["resources"], 298);
  EXPECT_EQ(tp["busy_seconds"], 20.0);
  EXPECT_EQ(tp["resources_per_second"], 14.9);
  ASSERT_EQ(j["timeline"].size(), 4u);
  const auto& first = j["timeline"][0];
  for (const char* k : {"id", "attempts", "extracted", "loaded", "failed"})
    EXPECT_TRUE(is_int(first[k])) << k;
  for (const char* k : {"since", "till", "state", "updated_at"}) EXPECT_TRUE(is_str(first[k])) << k;
  EXPECT_TRUE(first["type"].is_null());
  EXPECT_EQ(j["timeline"][2]["state"], "loading");
}

// A window loaded [since, till) with `loaded` resources, in flight from
// `started` to `finished`.
store::Window Loaded(int64_t loaded, base::Instant started, base::Instant finished) {
  store::Window w;
  w.since = T("2024-01-01T00:00:00Z");
  w.till = T("2024-02-01T00:00:00Z");
  w.status = store::WindowStatus::kLoaded;
  w.resources_extracted = w.resources_loaded = loaded;
  w.started_at = started;
  w.updated_at = finished;
  return w;
}

// `status` divided what the windows of the last 5 minutes loaded by 5
// minutes: a run that copied 20,004 resources in 11.6 s (1,724/s) read
// "66.7 resources/s" for the next five minutes. The rate is now the
// resources of the windows loaded in the last minute over the time they were
// in flight.
TEST(StatusReport, ThroughputIsTheRateOfTheRecentlyLoadedWindows) {
  auto store = store::OpenSqliteStateStore({":memory:"}).value();
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  // Ten windows one after another, 1.16 s each.
  for (int i = 0; i < 10; ++i) {
    base::Instant started = clock.Now();
    clock.Advance(base::Millis(1160));
    ASSERT_TRUE(store->AddWindow(Loaded(i < 9 ? 2000 : 2004, started, clock.Now())).ok());
  }
  clock.Advance(base::Millis(20'000));
  auto report = GatherStatus(*store, clock.Now());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->throughput_windows, 10);
  EXPECT_EQ(report->throughput_resources, 20004);
  EXPECT_DOUBLE_EQ(report->throughput_busy_seconds, 11.6);
  EXPECT_NEAR(report->resources_per_second, 1724.5, 0.1);
  EXPECT_NE(StatusText(*report).find("throughput:   1724.5 resources/s (20004 resources in 11.6s "
                                     "of loading, 10 windows loaded in the last 1m)"),
            std::string::npos)
      << StatusText(*report);

  // Once a minute has passed without a window loaded, nothing is going on.
  clock.Advance(base::Millis(60'000));
  report = GatherStatus(*store, clock.Now());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->throughput_windows, 0);
  EXPECT_EQ(report->resources_per_second, 0);
  EXPECT_NE(
      StatusText(*report).find("throughput:   0 resources/s (no window loaded in the last 1m)"),
      std::string::npos)
      << StatusText(*report);
}

TEST(StatusReport, WindowsInFlightSideBySideCountTheirCommonTimeOnce) {
  auto store = store::OpenSqliteStateStore({":memory:"}).value();
  base::Instant t = T("2024-06-01T12:00:00Z");
  // Two windows of 1000 over the same 10 s, a third of 500 over the next 5 s.
  ASSERT_TRUE(store->AddWindow(Loaded(1000, t, t + base::Millis(10'000))).ok());
  ASSERT_TRUE(store->AddWindow(Loaded(1000, t + base::Millis(1000), t + base::Millis(9000))).ok());
  ASSERT_TRUE(
      store->AddWindow(Loaded(500, t + base::Millis(10'000), t + base::Millis(15'000))).ok());
  // Loaded before schema version 3 recorded when windows start: left out.
  store::Window old = Loaded(7000, t, t + base::Millis(1000));
  old.started_at.reset();
  ASSERT_TRUE(store->AddWindow(old).ok());
  auto report = GatherStatus(*store, t + base::Millis(20'000));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->throughput_windows, 3);
  EXPECT_DOUBLE_EQ(report->throughput_busy_seconds, 15.0);
  EXPECT_NEAR(report->resources_per_second, 2500.0 / 15.0, 1e-9);
}

}  // namespace
}  // namespace fm::server
