#include "migrate/version_order.h"

#include <algorithm>

namespace fm::migrate {
namespace {

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<bool> IsOlderVersion(const Resource& a, const Resource& b) {
  if (a.last_updated && b.last_updated && *a.last_updated != *b.last_updated) {
    return *a.last_updated < *b.last_updated;
  }
  if (AllDigits(a.version_id) && AllDigits(b.version_id)) {
    return std::stoll(a.version_id) < std::stoll(b.version_id);
  }
  if (a.last_updated && b.last_updated) return false;  // same instant, opaque ids
  return std::nullopt;
}

VersionOrder::VersionOrder(size_t capacity)
    : generation_size_(capacity == 0 ? 0 : std::max<size_t>(1, capacity / 2)) {}

const VersionOrder::Version* VersionOrder::Find(const std::string& key) const {
  if (auto it = current_.find(key); it != current_.end()) return &it->second;
  if (auto it = previous_.find(key); it != previous_.end()) return &it->second;
  return nullptr;
}

void VersionOrder::Put(const std::string& key, const Resource& r) {
  auto it = current_.find(key);
  if (it == current_.end()) {
    if (current_.size() >= generation_size_) {
      previous_ = std::move(current_);
      current_.clear();
    }
    it = current_.emplace(key, Version{}).first;
  }
  it->second = Version{r.version_id, r.last_updated};
}

bool VersionOrder::Superseded(const std::string& key, const Resource& r) {
  if (generation_size_ == 0) return false;
  if (const Version* known = Find(key)) {
    Resource newest{r.type, r.id, "", known->version_id, known->last_updated};
    std::optional<bool> older = IsOlderVersion(r, newest);
    if (older == true) return true;
    if (!older) {
      // Cannot be ordered: send it, but keep judging later versions against
      // the newest one we could order.
      return false;
    }
  }
  Put(key, r);
  return false;
}

void VersionOrder::Record(const std::string& key, const Resource& r) {
  if (generation_size_ == 0) return;
  if (const Version* known = Find(key)) {
    Resource newest{r.type, r.id, "", known->version_id, known->last_updated};
    if (IsOlderVersion(r, newest) != false) return;  // keep the newer (or orderable) one
  }
  Put(key, r);
}

}  // namespace fm::migrate
