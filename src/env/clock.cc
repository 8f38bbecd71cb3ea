#include "env/clock.h"

#include <chrono>

namespace fm::env {
namespace {

class SystemClock : public Clock {
 public:
  base::Instant Now() override {
    return std::chrono::time_point_cast<base::Millis>(std::chrono::system_clock::now());
  }

  bool SleepFor(base::Millis d) override {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return interrupted_; });
  }

  void Interrupt() override {
    {
      std::lock_guard lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

  bool Interrupted() const override {
    std::lock_guard lock(mu_);
    return interrupted_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock() { return std::make_unique<SystemClock>(); }

}  // namespace fm::env
