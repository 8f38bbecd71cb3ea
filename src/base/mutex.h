// A std::mutex that Clang's -Wthread-safety understands (base/thread_annotations.h),
// and the scoped lock that goes with it. Waiting on a condition variable goes
// through the lock, so the analysis sees the mutex held around the wait:
//
//   base::MutexLock lock(mu_);
//   while (queue_.empty()) lock.Wait(not_empty_);
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace fm::base {

class FM_CAPABILITY("mutex") Mutex {
 public:
  void lock() FM_ACQUIRE() { mu_.lock(); }
  void unlock() FM_RELEASE() { mu_.unlock(); }
  bool try_lock() FM_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

class FM_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) FM_ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() FM_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Lets go of the mutex early, or takes it again.
  void Unlock() FM_RELEASE() { lock_.unlock(); }
  void Lock() FM_ACQUIRE() { lock_.lock(); }

  // Releases the mutex while waiting on `cv`, holds it again on return.
  void Wait(std::condition_variable& cv) { cv.wait(lock_); }
  // As Wait, for at most `d`; false on timeout.
  template <typename Rep, typename Period>
  bool WaitFor(std::condition_variable& cv, std::chrono::duration<Rep, Period> d) {
    return cv.wait_for(lock_, d) == std::cv_status::no_timeout;
  }
  template <typename Clock, typename Duration>
  bool WaitUntil(std::condition_variable& cv, std::chrono::time_point<Clock, Duration> t) {
    return cv.wait_until(lock_, t) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace fm::base
