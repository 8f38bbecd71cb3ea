// The `verify` command's engine: runs the surface, deep and full checks that
// were asked for, reconciles deletes, renders the reports (text table and
// JSON) and records each check in the state store. The CLI only parses flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/client.h"
#include "migrate/resend.h"
#include "store/state_store.h"
#include "verify/deep.h"
#include "verify/full.h"
#include "verify/surface.h"

namespace fm::verify {

// The default ignore list (config key verify.ignore).
inline const char* const kDefaultIgnore = "/meta/versionId,/meta/lastUpdated,/meta/source";

struct VerifyRequest {
  bool surface = false;                 // run when asked, or when nothing else is
  std::optional<int> deep;              // N per type
  bool full = false;
  bool fix_deletes = false;             // with full: list destination-only resources
  bool apply = false;                   // with fix_deletes: delete them on the destination
  bool fix = false;                     // with full: copy missing and different resources
  bool dry_run = false;                 // fix, fix_deletes: list only, change nothing
  migrate::ResendOptions resend;        // how fix copies (batch size, references, deletes)
  migrate::ResendHook on_resent;        // hears each copied resource's outcome
  std::vector<std::string> types;       // empty: every type with data on either side
  std::optional<base::Instant> before;  // only lastUpdated < before (the watermark)
  bool history = false;                 // surface: compare history counts too
  uint64_t seed = kDefaultSeed;
  std::vector<std::string> ignore;
  int page_size = 1000;
  std::string spill_dir;
  size_t max_listed = 1000;
  FullVia full_via = FullVia::kAuto;    // how the full check reads each side
  ExportReadOptions export_read;        // full check by $export (`before` is set per side)
  fhir::NoteHook note;                  // progress notes (which reader, fallbacks) for the log
};

// The Bulk Data clients the full check may read each server with (null: by
// search only).
struct ExportClients {
  fhir::BulkExportClient* source = nullptr;
  fhir::BulkExportClient* destination = nullptr;
};

struct FixDeletes {
  bool applied = false;                 // false: dry run
  std::vector<std::string> listed;      // "Type/id", at most max_listed
  int64_t found = 0;
  int64_t deleted = 0;
};

// --fix: resources missing or different on the destination, copied from
// the source's current version.
struct FixCopies {
  bool applied = false;             // false: dry run
  std::vector<std::string> listed;  // "Type/id", at most max_listed
  int64_t found = 0;
  int64_t copied = 0;  // accepted by the destination (or gone from the source)
  int64_t refused = 0;
  std::vector<std::string> refused_listed;  // "Type/id: reason", at most max_listed
};

struct VerifyReport {
  std::optional<base::Instant> before;
  std::optional<SurfaceResult> surface;
  std::optional<DeepResult> deep;
  std::optional<FullResult> full;
  std::optional<FixDeletes> fix;
  std::optional<FixCopies> copy;
  bool passed() const;
  // One line per discrepancy group naming types and ids (for stderr).
  std::vector<std::string> Problems() const;
};

// Runs the checks. Errors (unreachable server, bad page) abort; differences
// are results, not errors.
base::Result<VerifyReport> Verify(fhir::Client& source, fhir::Client& destination,
                                  const VerifyRequest& request, const ExportClients& exports = {});

// JSON summaries, one per check kind that ran ("surface", "deep", "full").
std::string SurfaceJson(const SurfaceResult& r);
std::string DeepJson(const DeepResult& r);
std::string FullJson(const FullResult& r, const std::optional<FixDeletes>& fix,
                     const std::optional<FixCopies>& copy = std::nullopt);
// The whole report as one JSON object ({"before":..,"surface":..,..,"passed":..}).
std::string ReportJson(const VerifyReport& report);
// Readable tables.
std::string ReportText(const VerifyReport& report);

// Stores one CheckRecord per check that ran, each with `at`.
base::Status RecordChecks(store::StateStore& store, const VerifyReport& report, base::Instant at);

}  // namespace fm::verify
