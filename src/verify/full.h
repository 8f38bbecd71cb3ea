// Full check: every resource on both sides, reduced to (type, id, SHA-256 of
// canonical JSON without the ignore list), spilled to a temporary SQLite file
// and joined there, so memory stays bounded however many resources exist.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/client.h"

namespace fm::verify {

struct FullOptions {
  std::vector<std::string> ignore;
  std::optional<base::Instant> before;  // only lastUpdated < before
  int page_size = 1000;
  std::string spill_dir;                // "" = $TMPDIR or /tmp
  size_t max_listed = 1000;             // ids kept per category for the report
};

struct FullType {
  std::string type;
  int64_t source = 0;
  int64_t destination = 0;
  int64_t missing = 0;                  // on the source only
  int64_t extra = 0;                    // on the destination only
  int64_t different = 0;                // on both, other content
};

struct FullResult {
  std::vector<FullType> types;          // in the order asked
  // "Type/id", sorted; at most max_listed each (the counts are exact).
  std::vector<std::string> missing, extra, different;
  bool passed() const;
};

// Called for every destination-only resource (all of them, not only the
// listed ones), after both sides were read; used by --fix-deletes.
using ExtraVisitor = std::function<base::Status(const std::string& type, const std::string& id)>;

base::Result<FullResult> FullCheck(fhir::Client& source, fhir::Client& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options,
                                   const ExtraVisitor& on_extra = nullptr);

}  // namespace fm::verify
