// Full check: every resource on both sides, reduced to (type, id, SHA-256 of
// canonical JSON without the ignore list), spilled to a temporary SQLite file
// and joined there, so memory stays bounded however many resources exist.
// Each side is read by a Bulk Data $export where it offers one (or by
// configuration), else by keyset search paging; the two readers produce the
// same rows, so either side may use either.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/bulk_export.h"
#include "fhir/client.h"
#include "verify/export_reader.h"

namespace fm::verify {

// How the full check reads a side (config key verify.full_via).
enum class FullVia {
  kAuto,    // $export when the CapabilityStatement advertises system $export, else search
  kExport,  // $export even when not advertised
  kSearch,  // search paging only
};
// "auto" | "export" | "search"; kInvalidData otherwise. Inline: the config
// loader (and its fuzz target) need it without the rest of the full check.
inline base::Result<FullVia> ParseFullVia(const std::string& text) {
  if (text == "auto") return FullVia::kAuto;
  if (text == "export") return FullVia::kExport;
  if (text == "search") return FullVia::kSearch;
  return base::MakeError(base::ErrorKind::kInvalidData, "use auto, export or search");
}

struct FullOptions {
  std::vector<std::string> ignore;
  std::optional<base::Instant> before;  // source only: lastUpdated < before
  int page_size = 1000;                 // search paging
  std::string spill_dir;                // "" = $TMPDIR or /tmp
  size_t max_listed = 1000;             // ids kept per category for the report
  FullVia via = FullVia::kAuto;
  // $export reads; `before` is set per side from the field above. A failed
  // export falls back to search (with a note), except when cancelled.
  ExportReadOptions export_read;
  fhir::NoteHook note;                  // which reader each side used, fallbacks
};

// One server as the full check reads it.
struct FullSide {
  fhir::Client& client;
  fhir::BulkExportClient* bulk = nullptr;  // null: search only
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
  std::string source_read = "search";   // "export" or "search": how each side was read
  std::string destination_read = "search";
  bool passed() const;
};

// Called for every resource of a category (all of them, not only the listed
// ones), after both sides were read: destination-only ones for
// --fix-deletes, missing and different ones for --fix.
using ExtraVisitor = std::function<base::Status(const std::string& type, const std::string& id)>;

struct FullVisitors {
  ExtraVisitor on_extra;      // on the destination only
  ExtraVisitor on_missing;    // on the source only
  ExtraVisitor on_different;  // on both, other content
};

base::Result<FullResult> FullCheck(const FullSide& source, const FullSide& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options,
                                   const ExtraVisitor& on_extra = nullptr);
base::Result<FullResult> FullCheck(const FullSide& source, const FullSide& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options, const FullVisitors& visitors);

}  // namespace fm::verify
