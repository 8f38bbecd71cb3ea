#include "json/ndjson.h"

#include <cstdint>
#include <cstring>
#include <utility>

namespace fm::json {
namespace {

// A buffer grown for one huge line is given back rather than kept for the
// rest of the stream.
constexpr size_t kKeptPendingCapacity = 1u << 20;

// Only JSON whitespace ('\n' cannot occur inside a line).
bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

base::Error TooLong(uint64_t line_number, size_t max_line_bytes) {
  return base::MakeError(base::ErrorKind::kInvalidData,
                         "line " + std::to_string(line_number) + " is longer than " +
                             std::to_string(max_line_bytes) + " bytes");
}

}  // namespace

NdjsonSplitter::NdjsonSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

base::Status NdjsonSplitter::Feed(std::string_view chunk, const LineHandler& on_line) {
  if (failed_) return *failed_;
  size_t pos = 0;
  if (!pending_.empty()) {
    // Complete the buffered line with the head of this chunk.
    size_t newline = chunk.find('\n');
    std::string_view head = chunk.substr(0, newline);
    if (!PendingCanGrowBy(head.size())) return FailTooLong();
    pending_.append(head);
    if (newline == std::string_view::npos) return base::Ok();
    base::Status status = Deliver(pending_, on_line);
    ReleasePending();
    FM_TRY_STATUS(std::move(status));
    pos = newline + 1;
  }
  // Fast path: lines wholly inside the chunk are handed out as views.
  while (pos < chunk.size()) {
    const void* hit = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
    if (hit == nullptr) break;
    size_t newline = static_cast<size_t>(static_cast<const char*>(hit) - chunk.data());
    FM_TRY_STATUS(Deliver(chunk.substr(pos, newline - pos), on_line));
    pos = newline + 1;
  }
  std::string_view tail = chunk.substr(pos);
  if (!tail.empty()) {
    if (!PendingCanGrowBy(tail.size())) return FailTooLong();
    pending_.assign(tail);
  }
  return base::Ok();
}

base::Status NdjsonSplitter::Finish(const LineHandler& on_line) {
  if (failed_) return *failed_;
  if (pending_.empty()) return base::Ok();
  base::Status status = Deliver(pending_, on_line);
  ReleasePending();
  return status;
}

base::Status NdjsonSplitter::Deliver(std::string_view line, const LineHandler& on_line) {
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line_bytes_) return Fail(TooLong(line_number_, max_line_bytes_));
  if (IsBlank(line)) return base::Ok();
  base::Status status = on_line(line);
  if (!status.ok()) return Fail(std::move(status.error()));
  ++delivered_;
  return base::Ok();
}

// The pending line may hold max_line_bytes plus a '\r' that waits for its '\n';
// Deliver makes the exact check once the line is complete.
bool NdjsonSplitter::PendingCanGrowBy(size_t bytes) const {
  size_t limit = max_line_bytes_ == SIZE_MAX ? SIZE_MAX : max_line_bytes_ + 1;
  return pending_.size() <= limit && bytes <= limit - pending_.size();
}

// The incomplete line being buffered is already too long: count it as seen.
base::Status NdjsonSplitter::FailTooLong() {
  ++line_number_;
  return Fail(TooLong(line_number_, max_line_bytes_));
}

base::Status NdjsonSplitter::Fail(base::Error error) {
  failed_ = error;
  ReleasePending();
  return error;
}

void NdjsonSplitter::ReleasePending() {
  if (pending_.capacity() > kKeptPendingCapacity) {
    std::string().swap(pending_);
  } else {
    pending_.clear();
  }
}

}  // namespace fm::json
