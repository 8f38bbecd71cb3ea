#include "env/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace fm::env {
namespace {

TEST(ManualClockTest, SleepAdvancesTimeAndIsCounted) {
  ManualClock clock(base::FromEpochMillis(1000));
  EXPECT_TRUE(clock.SleepFor(base::Millis(500)));
  EXPECT_EQ(base::ToEpochMillis(clock.Now()), 1500);
  EXPECT_EQ(clock.TotalSlept().count(), 500);
  clock.Interrupt();
  EXPECT_FALSE(clock.SleepFor(base::Millis(1)));
}

TEST(SystemClockTest, InterruptWakesASleeper) {
  auto clock = NewSystemClock();
  std::thread t([&] { clock->Interrupt(); });
  EXPECT_FALSE(clock->SleepFor(base::Millis(60'000)));
  t.join();
  EXPECT_TRUE(clock->Interrupted());
}

}  // namespace
}  // namespace fm::env
