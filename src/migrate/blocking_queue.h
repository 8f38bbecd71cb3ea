// A bounded multi-producer multi-consumer queue: the back-pressure between
// extractors and loaders that keeps memory flat however large the window.
#pragma once

#include <condition_variable>
#include <deque>
#include <optional>

#include "base/mutex.h"

namespace fm::migrate {

template <typename T>
class BlockingQueue {
 public:
  explicit BlockingQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks while full. False when the queue was closed (the item is dropped).
  bool Push(T item) {
    base::MutexLock lock(mu_);
    while (!closed_ && items_.size() >= capacity_) lock.Wait(not_full_);
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty; nullopt once closed and drained.
  std::optional<T> Pop() {
    base::MutexLock lock(mu_);
    while (!closed_ && items_.empty()) lock.Wait(not_empty_);
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // No more pushes; consumers drain what is queued, then get nullopt.
  void Close() {
    base::MutexLock lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  // Close and drop everything queued (abort).
  void CloseAndClear() {
    base::MutexLock lock(mu_);
    closed_ = true;
    items_.clear();
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const size_t capacity_;
  base::Mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_ FM_GUARDED_BY(mu_);
  bool closed_ FM_GUARDED_BY(mu_) = false;
};

}  // namespace fm::migrate
