#include "store/store_test_util.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <mutex>
#include <vector>

namespace fm::store::testing {
namespace {

struct TempDirs {
  std::mutex mu;
  std::vector<std::string> dirs;
  ~TempDirs() {
    for (const auto& dir : dirs) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
};

TempDirs& AllTempDirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string TempDir() {
  char tmpl[] = "/tmp/fm_store_test_XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) return "/nonexistent-temp-dir";
  TempDirs& all = AllTempDirs();
  std::lock_guard<std::mutex> lock(all.mu);
  all.dirs.emplace_back(dir);
  return dir;
}

std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  bool seen = false;
  auto capture = [&](int n, char** values) {
    if (!seen && n > 0) out = values[0] != nullptr ? values[0] : "NULL";
    seen = true;
  };
  using Capture = decltype(capture);
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(
        db, sql.c_str(),
        [](void* arg, int n, char** values, char**) {
          (*static_cast<Capture*>(arg))(n, values);
          return 0;
        },
        &capture, nullptr);
  }
  if (rc != SQLITE_OK) out = std::string("error: ") + sqlite3_errmsg(db);
  sqlite3_close(db);
  return out;
}

}  // namespace fm::store::testing
