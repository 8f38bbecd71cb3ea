// Helpers shared by the in-process bench harnesses.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "json/ndjson.h"
#include "store/state_store.h"

namespace fm::bench {

// User + system CPU seconds of this process so far.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Calls `on_line` for every line of an NDJSON file, read in 1 MiB chunks.
inline base::Status ForEachLine(const std::string& path, const json::LineHandler& on_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::MakeError(base::ErrorKind::kNotFound, "cannot open " + path);
  json::NdjsonSplitter splitter;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    FM_TRY_STATUS(
        splitter.Feed(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())), on_line));
  }
  return splitter.Finish(on_line);
}

// A fresh SQLite state store at `path`, removed with its WAL files on exit.
class ScratchStore {
 public:
  explicit ScratchStore(std::string path) : path_(std::move(path)) { Remove(); }
  ~ScratchStore() {
    store_.reset();
    Remove();
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  // Null (with the reason on stderr) when the store cannot be opened.
  store::StateStore* Open() {
    auto opened = store::OpenSqliteStateStore({path_});
    if (!opened.ok()) {
      std::fprintf(stderr, "state store: %s\n", opened.error().ToString().c_str());
      return nullptr;
    }
    store_ = std::move(opened).value();
    return store_.get();
  }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  std::string path_;
  std::unique_ptr<store::StateStore> store_;
};

}  // namespace fm::bench
