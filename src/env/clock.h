// The only way the rest of the code reads time or waits. SystemClock is used by
// the composition root; ManualClock lets tests play days of work in milliseconds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "base/time.h"

namespace fm::env {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual base::Instant Now() = 0;
  // Sleeps for `d`, or less when Interrupt() is called. Returns false when
  // interrupted. Thread-safe.
  virtual bool SleepFor(base::Millis d) = 0;
  // Wakes every sleeper now and makes later sleeps return false at once
  // (graceful shutdown).
  virtual void Interrupt() = 0;
  virtual bool Interrupted() const = 0;
};

std::unique_ptr<Clock> NewSystemClock();

// Time moves only when someone sleeps or calls Advance. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(base::Instant start) : now_ms_(base::ToEpochMillis(start)) {}
  base::Instant Now() override { return base::FromEpochMillis(now_ms_.load()); }
  bool SleepFor(base::Millis d) override {
    if (interrupted_) return false;
    now_ms_ += d.count();
    slept_ms_ += d.count();
    return true;
  }
  void Interrupt() override { interrupted_ = true; }
  bool Interrupted() const override { return interrupted_; }
  void Advance(base::Millis d) { now_ms_ += d.count(); }
  void Set(base::Instant t) { now_ms_ = base::ToEpochMillis(t); }
  // Total time spent in SleepFor, for tests that check backoff.
  base::Millis TotalSlept() const { return base::Millis(slept_ms_.load()); }

 private:
  std::atomic<int64_t> now_ms_;
  std::atomic<int64_t> slept_ms_{0};
  std::atomic<bool> interrupted_{false};
};

}  // namespace fm::env
