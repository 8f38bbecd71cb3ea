#include "migrate/planner.h"

#include <gtest/gtest.h>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

TEST(PlannerTest, WindowsAreContiguousAndEndBeforeNowMinusSafetyLag) {
  World w;
  w.src.Seed(Patient("p1", "2023-10-05T10:00:00.000Z"));
  w.src.Seed(Patient("p2", "2023-12-31T23:59:30.000Z"));  // inside the safety lag
  w.options.plan.window = base::Millis(30LL * 86'400'000);
  auto e = w.MakeEngine();
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  auto windows = *w.store->ListWindows();
  ASSERT_GE(windows.size(), 3u);
  EXPECT_EQ(windows.front().since, At("2023-10-05T10:00:00Z"));  // the oldest resource
  for (size_t i = 1; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].since, windows[i - 1].till) << "gap or overlap at window " << i;
  }
  EXPECT_EQ(windows.back().till, w.clock.Now() - w.options.plan.safety_lag);
}

TEST(PlannerTest, SplitsAWindowAboveTheCountLimit) {
  World w;
  for (int i = 0; i < 8; ++i) {
    w.src.Seed(
        Patient("p" + std::to_string(i), "2023-12-0" + std::to_string(1 + i) + "T00:00:00.000Z"));
  }
  w.options.plan.start = At("2023-12-01T00:00:00Z");
  w.options.plan.end = At("2023-12-09T00:00:00Z");
  w.options.plan.window = base::Millis(8LL * 86'400'000);
  w.options.plan.max_resources_per_window = 3;
  auto e = w.MakeEngine();
  ASSERT_TRUE(e->planner.Plan().ok());
  auto windows = *w.store->ListWindows();
  ASSERT_GE(windows.size(), 3u);  // 8 days, at most 3 per window
  for (const auto& win : windows) {
    int64_t n = *e->probe.Count("Patient", win.since, win.till);
    EXPECT_LE(n, 3) << base::FormatInstant(win.since);
  }
  EXPECT_EQ(windows.back().till, At("2023-12-09T00:00:00Z"));
}

TEST(PlannerTest, ResumesPlanningFromTheNewestRecordedWindow) {
  World w;
  w.src.Seed(Patient("p1", "2023-06-01T00:00:00.000Z"));
  auto e = w.MakeEngine();
  ASSERT_TRUE(e->planner.Plan().ok());
  size_t first = w.store->ListWindows()->size();
  w.clock.Advance(base::Millis(3'600'000));
  ASSERT_TRUE(e->planner.Plan().ok());
  auto windows = *w.store->ListWindows();
  ASSERT_EQ(windows.size(), first + 1);
  EXPECT_EQ(windows.back().since, windows[windows.size() - 2].till);
}

// Progress had no count of what a run had to copy, so the terminal's ETA
// came from the time per window ("--" until a window was loaded) and window
// bars measured loaded against what had been read. Planning now records each
// window's count and tells the sink the work, per type.
TEST(PlannerTest, PlanningRecordsEachWindowsCountAndTellsTheSinkTheWork) {
  struct Recording : ProgressSink {
    void OnPlanStarted() override { events.push_back("started"); }
    void OnWindowPlanned(const store::Window& w) override {
      events.push_back("window " + std::to_string(w.expected));
    }
    void OnPlanned(const PlannedWork& work) override {
      events.push_back("planned");
      last = work;
    }
    std::vector<std::string> events;
    PlannedWork last;
  } sink;
  World w;
  for (int i = 0; i < 5; ++i) {
    w.src.Seed(
        Patient("p" + std::to_string(i), "2023-12-0" + std::to_string(1 + i) + "T00:00:00.000Z"));
  }
  w.src.Seed(Observation("o1", "2023-12-02T00:00:00.000Z"));
  w.src.Seed(Observation("o2", "2023-12-07T00:00:00.000Z"));
  w.options.plan.start = At("2023-12-01T00:00:00Z");
  w.options.plan.end = At("2023-12-09T00:00:00Z");
  w.options.plan.window = base::Millis(4LL * 86'400'000);
  auto e = w.MakeEngine();
  Planner planner(w.options.plan, *w.store, e->probe, w.clock, sink);
  ASSERT_TRUE(planner.Plan().ok());
  EXPECT_EQ(sink.events, (std::vector<std::string>{"started", "window 5", "window 2", "planned"}));
  EXPECT_EQ(sink.last.windows, 2);
  EXPECT_EQ(sink.last.resources, 7);
  EXPECT_EQ(sink.last.by_type,
            (std::map<std::string, int64_t>{{"Observation", 2}, {"Patient", 5}}));
  auto windows = *w.store->ListWindows();
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[0].expected, 5);
  EXPECT_EQ(windows[1].expected, 2);

  // A later plan with nothing new still counts the windows not loaded yet.
  sink.events.clear();
  ASSERT_TRUE(planner.Plan().ok());
  EXPECT_EQ(sink.events, (std::vector<std::string>{"started", "planned"}));
  EXPECT_EQ(sink.last.windows, 2);
  EXPECT_EQ(sink.last.resources, 7);
  EXPECT_TRUE(sink.last.by_type.empty());
}

TEST(PlannerTest, EmptySourcePlansNothing) {
  World w;
  auto e = w.MakeEngine();
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->source_empty);
  EXPECT_TRUE(w.store->ListWindows()->empty());
}

using store::WindowStatus;

store::Window Win(const char* since, const char* till, const std::string& type,
                  WindowStatus status = WindowStatus::kLoaded) {
  store::Window w;
  w.since = At(since);
  w.till = At(till);
  w.resource_type = type;
  w.status = status;
  return w;
}

// Windows of `type`, in the store's order.
std::vector<store::Window> OfType(const std::vector<store::Window>& windows,
                                  const std::string& type) {
  std::vector<store::Window> out;
  for (const auto& win : windows) {
    if (win.resource_type == type) out.push_back(win);
  }
  return out;
}

void ExpectContiguous(const std::vector<store::Window>& windows, base::Instant from,
                      base::Instant to) {
  ASSERT_FALSE(windows.empty());
  EXPECT_EQ(windows.front().since, from);
  for (size_t i = 1; i < windows.size(); ++i) {
    EXPECT_EQ(windows[i].since, windows[i - 1].till)
        << windows[i].resource_type << ": gap or overlap at window " << i;
  }
  EXPECT_EQ(windows.back().till, to);
}

TEST(PlannerTest, PerTypeModePlansOneWindowOfEachTypePerRange) {
  World w;
  w.src.Seed(Patient("p1", "2023-10-05T10:00:00.000Z"));
  w.src.Seed(Patient("p2", "2023-11-20T00:00:00.000Z"));
  w.src.Seed(Observation("o1", "2023-12-10T00:00:00.000Z"));
  w.options.plan.per_type = true;
  w.options.plan.start = At("2023-10-01T00:00:00Z");
  w.options.plan.window = base::Millis(30LL * 86'400'000);
  auto e = w.MakeEngine();
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  auto windows = *w.store->ListWindows();
  auto patients = OfType(windows, "Patient");
  auto observations = OfType(windows, "Observation");
  EXPECT_EQ(patients.size() + observations.size(), windows.size()) << "an all-type window";
  EXPECT_EQ(plan->windows_added, static_cast<int>(windows.size()));
  base::Instant horizon = w.clock.Now() - w.options.plan.safety_lag;
  ExpectContiguous(patients, At("2023-10-01T00:00:00Z"), horizon);
  ExpectContiguous(observations, At("2023-10-01T00:00:00Z"), horizon);
  ASSERT_EQ(patients.size(), 4u);  // 30-day ranges from October 1 to the horizon
  ASSERT_EQ(observations.size(), patients.size());
  for (size_t i = 0; i < patients.size(); ++i) {
    EXPECT_EQ(patients[i].since, observations[i].since);
    EXPECT_EQ(patients[i].till, observations[i].till);
  }
  // Only windows holding resources of their type wait for extraction.
  for (const auto& win : windows) {
    int64_t n = *e->probe.Count(win.resource_type, win.since, win.till);
    EXPECT_EQ(win.status, n ? WindowStatus::kPlanned : WindowStatus::kLoaded)
        << win.resource_type << " " << base::FormatInstant(win.since);
  }
}

TEST(PlannerTest, PerTypeWindowsAreSplitByTheirOwnTypesCount) {
  World w;
  for (int i = 0; i < 8; ++i) {
    w.src.Seed(
        Patient("p" + std::to_string(i), "2023-12-0" + std::to_string(1 + i) + "T00:00:00.000Z"));
  }
  w.src.Seed(Observation("o1", "2023-12-03T00:00:00.000Z"));
  w.options.plan.per_type = true;
  w.options.plan.start = At("2023-12-01T00:00:00Z");
  w.options.plan.end = At("2023-12-09T00:00:00Z");
  w.options.plan.window = base::Millis(8LL * 86'400'000);
  w.options.plan.max_resources_per_window = 3;
  auto e = w.MakeEngine();
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_TRUE(plan->reached_end);
  auto windows = *w.store->ListWindows();
  auto patients = OfType(windows, "Patient");
  ExpectContiguous(patients, At("2023-12-01T00:00:00Z"), At("2023-12-09T00:00:00Z"));
  EXPECT_GE(patients.size(), 3u);
  for (const auto& win : patients) {
    EXPECT_LE(*e->probe.Count("Patient", win.since, win.till), 3) << base::FormatInstant(win.since);
  }
  auto observations = OfType(windows, "Observation");
  ASSERT_EQ(observations.size(), 1u);  // one Observation is far below the limit
  ExpectContiguous(observations, At("2023-12-01T00:00:00Z"), At("2023-12-09T00:00:00Z"));
}

TEST(PlannerTest, PerTypeATypeThatAppearsLaterStartsAtTheMigrationStart) {
  World w;
  w.src.Seed(Patient("p1", "2023-06-01T00:00:00.000Z"));
  w.options.plan.per_type = true;
  auto e = w.MakeEngine();
  ASSERT_TRUE(e->planner.Plan().ok());
  base::Instant first_horizon = w.clock.Now() - w.options.plan.safety_lag;
  auto before = *w.store->ListWindows();
  EXPECT_TRUE(OfType(before, "Observation").empty());
  w.clock.Advance(base::Millis(3'600'000));
  w.src.Seed(Observation("o1", "2023-12-31T23:30:00.000Z"));
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  auto windows = *w.store->ListWindows();
  base::Instant horizon = w.clock.Now() - w.options.plan.safety_lag;
  auto start = w.store->GetMigration()->start;
  ASSERT_EQ(start, At("2023-06-01T00:00:00Z"));
  ExpectContiguous(OfType(windows, "Observation"), *start, horizon);
  auto patients = OfType(windows, "Patient");
  ExpectContiguous(patients, *start, horizon);
  EXPECT_EQ(patients.size(), OfType(before, "Patient").size() + 1);
  EXPECT_EQ(patients.back().since, first_horizon);
}

TEST(PlannerTest, AllTypeWindowsAfterPerTypeOnesFirstCatchUpTheTypeThatLags) {
  World w;
  w.src.Seed(Patient("p1", "2023-10-05T00:00:00.000Z"));
  w.src.Seed(Observation("o1", "2023-11-05T00:00:00.000Z"));
  auto state = *w.store->GetMigration();
  state.start = At("2023-10-01T00:00:00Z");
  ASSERT_TRUE(w.store->PutMigration(state).ok());
  ASSERT_TRUE(w.store->AddWindow(Win("2023-10-01", "2023-12-01", "Patient")).ok());
  ASSERT_TRUE(w.store->AddWindow(Win("2023-10-01", "2023-11-01", "Observation")).ok());
  auto e = w.MakeEngine();  // per_type off
  ASSERT_TRUE(e->planner.Plan().ok());
  auto windows = *w.store->ListWindows();
  auto observations = OfType(windows, "Observation");
  ExpectContiguous(observations, At("2023-10-01"), At("2023-12-01"));
  EXPECT_EQ(observations.back().status, WindowStatus::kPlanned);  // o1 lies in it
  ExpectContiguous(OfType(windows, ""), At("2023-12-01"),
                   w.clock.Now() - w.options.plan.safety_lag);
}

TEST(WatermarkTest, NeverSkipsAnUnloadedWindow) {
  std::vector<store::Window> ws = {Win("2023-01-01", "2023-02-01", ""),
                                   Win("2023-02-01", "2023-03-01", "", WindowStatus::kFailed),
                                   Win("2023-03-01", "2023-04-01", "")};
  EXPECT_EQ(Watermark(ws), At("2023-02-01"));
  ws[0].status = WindowStatus::kLoading;
  EXPECT_EQ(Watermark(ws), At("2023-01-01"));  // nothing loaded: the first since
  ws[0].status = ws[1].status = WindowStatus::kLoaded;
  EXPECT_EQ(Watermark(ws), At("2023-04-01"));
  EXPECT_FALSE(Watermark({}).has_value());
}

TEST(WatermarkTest, ALoadedWindowOfOneTypeDoesNotPassAPendingOneOfAnotherOverTheSameRange) {
  // Listed by since, then type: the loaded Observation window comes first.
  std::vector<store::Window> ws = {
      Win("2023-01-01", "2023-02-01", "Observation"),
      Win("2023-01-01", "2023-02-01", "Patient", WindowStatus::kPlanned),
      Win("2023-02-01", "2023-03-01", "Observation"), Win("2023-02-01", "2023-03-01", "Patient")};
  EXPECT_EQ(Watermark(ws), At("2023-01-01"));
  ws[1].status = WindowStatus::kLoaded;
  EXPECT_EQ(Watermark(ws), At("2023-03-01"));
}

TEST(WatermarkTest, TypesEndingAtDifferentTillsGiveTheEarliest) {
  std::vector<store::Window> ws = {
      Win("2023-01-01", "2023-02-01", "Observation"), Win("2023-01-01", "2023-02-01", "Patient"),
      Win("2023-02-01", "2023-03-01", "Patient"), Win("2023-03-01", "2023-03-15", "Patient")};
  EXPECT_EQ(Watermark(ws), At("2023-02-01"));
  // The newest window of each type is enough when nothing is pending.
  EXPECT_EQ(Watermark({ws[0], ws[3]}), At("2023-02-01"));
  ws.push_back(Win("2023-02-01", "2023-04-01", "Observation"));
  EXPECT_EQ(Watermark(ws), At("2023-03-15"));
}

TEST(WatermarkTest, AllTypeWindowsBelongToEveryTypesTimeline) {
  std::vector<store::Window> ws = {Win("2023-01-01", "2023-02-01", ""),
                                   Win("2023-02-01", "2023-03-01", "Patient"),
                                   Win("2023-02-01", "2023-04-01", "Observation")};
  EXPECT_EQ(Watermark(ws), At("2023-03-01"));
  ws[0].status = WindowStatus::kExtracting;
  EXPECT_EQ(Watermark(ws), At("2023-01-01"));
  // All-type windows after per-type ones end every timeline.
  ws[0].status = WindowStatus::kLoaded;
  ws.push_back(Win("2023-03-01", "2023-04-01", "Patient"));
  ws.push_back(Win("2023-04-01", "2023-05-01", ""));
  EXPECT_EQ(Watermark(ws), At("2023-05-01"));
  ws.back().status = WindowStatus::kPlanned;
  EXPECT_EQ(Watermark(ws), At("2023-04-01"));
}

}  // namespace
}  // namespace fm::migrate
