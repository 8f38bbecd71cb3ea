// NDJSON as a push parser: feed bytes with any chunk boundary, get whole lines.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace fm::json {

// `line` is valid only during the call.
using LineHandler = std::function<base::Status(std::string_view line)>;

class NdjsonSplitter {
 public:
  // Lines longer than max_line_bytes fail with kInvalidData naming the line
  // number (a resource of 64 MB is not a resource, it is an attack or a bug).
  explicit NdjsonSplitter(size_t max_line_bytes = 64u << 20);

  // Calls on_line for every complete line (without "\n" or "\r\n"). Blank
  // lines are skipped but counted in line numbers. Stops at the first error.
  // A line that lies wholly inside `chunk` is passed as a view into `chunk`
  // (no copy); only an incomplete tail is buffered. Lines made only of JSON
  // whitespace (spaces, tabs, stray '\r') count as blank. After an error (an
  // oversized line or an error returned by on_line) the rest of the input is
  // lost: every later Feed and Finish returns that same error.
  base::Status Feed(std::string_view chunk, const LineHandler& on_line);
  // Delivers a last line that had no final newline.
  base::Status Finish(const LineHandler& on_line);

  // Lines for which on_line returned Ok.
  uint64_t lines_delivered() const { return delivered_; }
  uint64_t line_number() const { return line_number_; }  // 1-based of the last line seen
  // Bytes buffered for an incomplete line (bounded by max_line_bytes, plus one
  // for a '\r' still waiting for its '\n').
  size_t pending_bytes() const { return pending_.size(); }

 private:
  base::Status Deliver(std::string_view line, const LineHandler& on_line);
  bool PendingCanGrowBy(size_t bytes) const;
  base::Status Fail(base::Error error);
  base::Status FailTooLong();
  void ReleasePending();

  size_t max_line_bytes_;
  std::string pending_;
  uint64_t delivered_ = 0;
  uint64_t line_number_ = 0;
  std::optional<base::Error> failed_;  // sticky first error
};

}  // namespace fm::json
