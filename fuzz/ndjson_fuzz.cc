// Differential fuzz target for NdjsonSplitter: the input fed as one chunk and
// fed in pieces (cut at a byte-derived point, then in byte-derived steps) must
// give the same lines, the same error and the same counters.
// fuzz-sources: src/json/ndjson.cc src/base/result.cc
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "json/ndjson.h"

namespace {

struct Outcome {
  std::vector<std::string> lines;
  std::string error;  // "" when everything was Ok
  uint64_t delivered = 0;
  uint64_t line_number = 0;
};

void Check(bool condition) {
  if (!condition) std::abort();
}

// Feeds `chunks`, then Finish. A line starting with '!' makes the handler fail.
Outcome Run(const std::vector<std::string_view>& chunks, size_t max_line_bytes) {
  fm::json::NdjsonSplitter splitter(max_line_bytes);
  Outcome out;
  auto handler = [&](std::string_view line) -> fm::base::Status {
    Check(!line.empty() && line.size() <= max_line_bytes);
    Check(line.find('\n') == std::string_view::npos);
    Check(line.find_first_not_of(" \t\r") != std::string_view::npos);
    out.lines.emplace_back(line);
    if (line[0] == '!') return fm::base::MakeError(fm::base::ErrorKind::kConflict, "handler");
    return fm::base::Ok();
  };
  fm::base::Status status;
  for (std::string_view chunk : chunks) {
    status = splitter.Feed(chunk, handler);
    Check(splitter.pending_bytes() <= max_line_bytes + 1);
    if (!status.ok()) break;
  }
  if (status.ok()) status = splitter.Finish(handler);
  if (!status.ok()) {
    out.error = status.error().ToString();
    Check(splitter.Finish(handler).error().ToString() == out.error);  // errors are sticky
  }
  out.delivered = splitter.lines_delivered();
  out.line_number = splitter.line_number();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t max_line_bytes = 1 + data[0] % 64;  // small, so oversized lines happen
  size_t step = 1 + data[1] % 16;
  std::string_view input(reinterpret_cast<const char*>(data) + 4, size - 4);
  size_t cut = ((size_t{data[2]} << 8) | data[3]) % (input.size() + 1);

  std::vector<std::string_view> pieces = {input.substr(0, cut)};
  for (size_t pos = cut; pos < input.size(); pos += step) pieces.push_back(input.substr(pos, step));

  Outcome whole = Run({input}, max_line_bytes);
  Outcome split = Run(pieces, max_line_bytes);
  Check(whole.lines == split.lines);
  Check(whole.error == split.error);
  Check(whole.delivered == split.delivered);
  Check(whole.line_number == split.line_number);
  return 0;
}
