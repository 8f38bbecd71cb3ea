// A temporary SQLite file holding (side, type, id, hash) rows for the full
// verification check (src/verify/full.cc), so memory stays bounded however
// many resources there are. The file is deleted when the object dies. Only
// hash_spill.cc includes sqlite3.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"

namespace fm::store {

class HashSpill {
 public:
  enum class Side { kSource = 0, kDestination = 1 };

  // Creates a fresh file in `dir` ("" = $TMPDIR or /tmp).
  static base::Result<std::unique_ptr<HashSpill>> Create(const std::string& dir);
  ~HashSpill();
  HashSpill(const HashSpill&) = delete;
  HashSpill& operator=(const HashSpill&) = delete;

  // Rows are written in transactions of a few thousand; Flush commits the rest.
  // Adding a (side, type, id) again replaces its row: a resource delivered
  // twice (a resent export file, a search page read again) is one row.
  base::Status Add(Side side, const std::string& type, const std::string& id,
                   const std::string& hash);
  base::Status Flush();
  // Drops every row of one side (a read that failed half-way starts over).
  base::Status Clear(Side side);
  // Rows of one side per type; the full check's counts come from here, so
  // they count each resource once however often it was delivered.
  base::Result<std::map<std::string, int64_t>> CountByType(Side side);

  enum class Kind { kMissing, kExtra, kDifferent };
  // Every (type, id) in the category, ordered by type then id.
  using RowVisitor = std::function<base::Status(const std::string& type, const std::string& id)>;
  base::Status ForEach(Kind kind, const RowVisitor& visit);
  const std::string& path() const { return path_; }

 private:
  HashSpill() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace fm::store
