// Scenario: 30 simulated days of `run --follow` against in-process servers
// with a manual clock. Every simulated hour the source gets creates, updates
// and deletes; the destination must end equal to the source. Runs in well
// under a second of real time because nothing really sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

using std::chrono::hours;

// A manual clock that plays the workload for every simulated hour it sleeps
// through, and interrupts the run once `stop_at` is reached.
class ScenarioClock : public env::ManualClock {
 public:
  ScenarioClock(base::Instant start, base::Instant stop_at, std::function<void()> every_hour)
      : ManualClock(start), next_(start + hours(1)), stop_at_(stop_at), every_hour_(std::move(every_hour)) {}

  bool SleepFor(base::Millis d) override {
    if (Interrupted()) return false;
    base::Instant end = Now() + d;
    while (next_ <= end) {
      if (next_ >= stop_at_) {
        Set(next_);
        Interrupt();
        return false;
      }
      Set(next_);
      every_hour_();
      next_ += hours(1);
    }
    Set(end);
    return true;
  }

 private:
  base::Instant next_;
  base::Instant stop_at_;
  std::function<void()> every_hour_;
};

TEST(FollowScenarioTest, ThirtyDaysOfHourlyChangesEndEqual) {
  World w;
  base::Instant start = w.clock.Now();
  base::Instant stop = start + hours(24 * 30);
  std::mt19937_64 rng(7);
  std::vector<std::string> live;
  int next_id = 0;
  int creates = 0, updates = 0, deletes = 0;
  // History before the migration starts.
  for (; next_id < 50; ++next_id) {
    std::string id = "p" + std::to_string(next_id);
    w.src.Seed(Patient(id, "2023-0" + std::to_string(1 + next_id % 9) + "-15T10:00:00.000Z"));
    live.push_back(id);
  }
  env::ManualClock* scenario_clock = nullptr;
  auto hour = [&] {
    w.clock.Set(scenario_clock->Now());  // the servers stamp writes with this clock
    for (int i = 0; i < 3; ++i, ++next_id, ++creates) {
      std::string id = "p" + std::to_string(next_id);
      w.src.Write(Patient(id, "", "New"));
      live.push_back(id);
      if (next_id % 4 == 0) {
        w.src.Write(Observation("o" + std::to_string(next_id), ""));
      }
    }
    for (int i = 0; i < 2 && !live.empty(); ++i, ++updates) {
      w.src.Write(Patient(live[rng() % live.size()], "", "Updated" + std::to_string(rng() % 1000)));
    }
    if (rng() % 2 == 0 && !live.empty()) {
      size_t k = rng() % live.size();
      w.src.Remove("Patient", live[k]);
      live.erase(live.begin() + static_cast<long>(k));
      ++deletes;
    }
  };
  ScenarioClock clock(start, stop, hour);
  scenario_clock = &clock;
  w.options.plan.window = hours(24);
  w.options.plan.safety_lag = std::chrono::minutes(5);
  w.options.run.poll_interval = hours(1);
  w.options.search.page_size = 50;
  w.options.search.deletes = true;
  w.options.search.deletes_after = start;
  w.options.rest.batch_size = 20;

  auto wall = std::chrono::steady_clock::now();
  auto engine = w.MakeEngine(clock);
  auto followed = engine->runner.Follow();
  ASSERT_TRUE(followed.ok()) << followed.error().ToString();
  EXPECT_TRUE(followed->interrupted);

  // Cut-over: writes stopped; one last catch-up once the safety lag passed.
  env::ManualClock after(stop + hours(1));
  auto restarted = w.MakeEngine(after);
  auto last = restarted->runner.RunOnce();
  ASSERT_TRUE(last.ok()) << last.error().ToString();
  auto elapsed = std::chrono::steady_clock::now() - wall;

  EXPECT_GT(creates, 2000);
  EXPECT_GT(updates, 1000);
  EXPECT_GT(deletes, 300);
  w.ExpectDestinationEqualsSource();
  auto state = *w.store->GetMigration();
  ASSERT_TRUE(state.watermark.has_value());
  EXPECT_EQ(*state.watermark, after.Now() - w.options.plan.safety_lag);
  EXPECT_FALSE(state.halted);
  std::printf("[ scenario ] %d creates, %d updates, %d deletes over 30 simulated days in %lld ms\n",
              creates, updates, deletes,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

TEST(FollowScenarioTest, ADeleteFollowedByARecreateInOneWindowKeepsTheResource) {
  World w;
  w.options.search.deletes = true;
  w.options.plan.window = hours(24);
  w.src.Seed(Patient("keep", "2023-12-30T10:00:00.000Z"));
  w.src.Seed(Patient("gone", "2023-12-30T10:00:00.000Z"));
  ASSERT_TRUE(w.MakeEngine()->runner.RunOnce().ok());
  ASSERT_EQ(w.dst.size(), 2u);
  w.clock.Advance(std::chrono::minutes(10));
  w.src.Remove("Patient", "keep");
  w.src.Remove("Patient", "gone");
  w.clock.Advance(std::chrono::minutes(10));
  w.src.Write(Patient("keep", "", "Back"));
  w.clock.Advance(hours(1));
  auto r = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  w.ExpectDestinationEqualsSource();
  EXPECT_TRUE(w.dst.Get("Patient", "keep").has_value());
  EXPECT_FALSE(w.dst.Get("Patient", "gone").has_value());
}

}  // namespace
}  // namespace fm::migrate
