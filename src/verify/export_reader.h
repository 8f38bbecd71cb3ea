// Reads every resource of some types on one server through a system-level
// Bulk Data $export, for the full check: kick-off and polling by
// fhir::BulkExportClient (Retry-After, URL guard, Authorization rules), then
// each output file of the manifest streamed line by line
// (json::NdjsonSplitter) to a visitor and never stored, then a DELETE of the
// status URL (also after a failure). Memory: one download chunk plus one line.
//
// Delivery: a cut download resumes with `Range` from the end of the last
// complete line, so lines before it are not fetched again, and the partial
// line at the cut never reaches the visitor. A server that ignores Range
// resends the file from its start, and a link that expired is fetched again
// whole: those lines reach the visitor a second time, so the visitor must be
// idempotent per (type, id) (the full check's spill keeps one row per side,
// type and id, and counts rows, not deliveries).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/bulk_export.h"

namespace fm::verify {

struct ExportReadOptions {
  fhir::ExportRequestOptions request;   // the level is always system; _type = the types read
  std::optional<base::Instant> before;  // only lastUpdated < before: sent as the upper
                                        // bound and checked on every line
  int max_download_attempts = 5;        // per file, for transient failures
  base::Millis retry_backoff{std::chrono::seconds(1)};  // first delay between attempts (doubles)
  base::Millis max_backoff{std::chrono::minutes(1)};
};

struct ExportReadSummary {
  std::optional<base::Instant> transaction_time;
  int64_t files = 0;        // output files read
  int64_t delivered = 0;    // lines handed to the visitor (a resent line counts again)
  int64_t after_bound = 0;  // lines with lastUpdated >= before (the server ignored the bound)
  int64_t other_types = 0;  // lines of types not asked for (the server ignored _type)
};

// `raw` is the line (one resource); valid during the call.
using ExportVisitor = std::function<base::Status(const std::string& type, const std::string& id,
                                                 std::string_view raw)>;

// Errors: the protocol's (kick-off refused, job failed or gone), a download
// that kept failing, kInvalidData for a line that is not a resource with an
// id (and lastUpdated, with `before`), a file whose line count differs from
// the manifest's count, or an error[] file holding an issue of severity error
// or fatal (the export is incomplete). The visitor's error aborts the read.
base::Result<ExportReadSummary> ForEachExported(fhir::BulkExportClient& client,
                                                const std::vector<std::string>& types,
                                                const ExportReadOptions& options,
                                                const ExportVisitor& visit,
                                                const fhir::NoteHook& note = nullptr);

}  // namespace fm::verify
