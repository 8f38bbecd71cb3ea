// Helpers shared by the store tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/time.h"
#include "store/state_store.h"

namespace fm::store::testing {

// A fresh directory, removed when the test binary exits normally (a forked
// child leaving through _exit removes nothing).
std::string TempDir();

inline base::Instant At(int64_t ms) { return base::FromEpochMillis(ms); }

inline Window MakeWindow(int64_t since_ms, int64_t till_ms, const std::string& type = "") {
  Window w;
  w.since = At(since_ms);
  w.till = At(till_ms);
  w.resource_type = type;
  w.updated_at = At(1);
  return w;
}

inline std::unique_ptr<StateStore> OpenOrDie(const std::string& path, bool read_only = false) {
  auto store = OpenSqliteStateStore({path, read_only});
  if (!store.ok()) {
    ADD_FAILURE() << "open " << path << ": " << store.error().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

// Runs one SQL statement on a raw connection and returns the first column of
// the first row as text ("" when none, "NULL" for null, "error: ..." on
// failure): lets tests look under the store.
std::string RawQuery(const std::string& path, const std::string& sql);

}  // namespace fm::store::testing
