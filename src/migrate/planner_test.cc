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
    w.src.Seed(Patient("p" + std::to_string(i), "2023-12-0" + std::to_string(1 + i) + "T00:00:00.000Z"));
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

TEST(PlannerTest, EmptySourcePlansNothing) {
  World w;
  auto e = w.MakeEngine();
  auto plan = e->planner.Plan();
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->source_empty);
  EXPECT_TRUE(w.store->ListWindows()->empty());
}

TEST(PlannerTest, WatermarkNeverSkipsAnUnloadedWindow) {
  std::vector<store::Window> ws(3);
  ws[0].since = At("2023-01-01");
  ws[0].till = ws[1].since = At("2023-02-01");
  ws[1].till = ws[2].since = At("2023-03-01");
  ws[2].till = At("2023-04-01");
  ws[0].status = store::WindowStatus::kLoaded;
  ws[1].status = store::WindowStatus::kFailed;
  ws[2].status = store::WindowStatus::kLoaded;
  EXPECT_EQ(ContiguousWatermark(ws), At("2023-02-01"));
  ws[0].status = store::WindowStatus::kLoading;
  EXPECT_FALSE(ContiguousWatermark(ws).has_value());
}

}  // namespace
}  // namespace fm::migrate
