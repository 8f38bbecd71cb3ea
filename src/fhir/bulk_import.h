// Server-side loading with `$import` (Azure Health Data Services contract,
// docs/import-and-staging.md): kick-off, status polls, result and error files.
//
// Kick-off and poll are separate calls so the caller can persist the job's
// Content-Location (store JobRecord) between them; a rerun after a crash then
// polls the stored job instead of sending a second `$import`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "env/clock.h"
#include "fhir/client.h"

namespace fm::fhir {

enum class ImportMode { kIncrementalLoad, kInitialLoad };
const char* ImportModeName(ImportMode mode);  // "IncrementalLoad" | "InitialLoad"
// "IncrementalLoad"/"incremental", "InitialLoad"/"initial" (case-insensitive).
base::Result<ImportMode> ParseImportMode(std::string_view text);

struct ImportInput {
  std::string type;  // resource type of every line of the file
  std::string url;   // where the destination reads the NDJSON
  std::string etag;  // optional: the file must be unchanged
};

struct ImportOptions {
  ImportMode mode = ImportMode::kIncrementalLoad;
  size_t files_per_request = 10000;                    // inputs per `$import` (Azure limit 10,000)
  int parallel_imports = 5;                            // jobs in flight
  base::Millis initial_poll{std::chrono::seconds(1)};  // 202 without Retry-After
  base::Millis max_poll{std::chrono::seconds(30)};     // backoff cap
  base::Millis max_retry_after{std::chrono::minutes(5)};  // larger Retry-After is clamped
  // A job still running after this long fails (kTransient: poll it again later).
  base::Millis max_job_duration{std::chrono::hours(24)};
  // Our own retries of 429/5xx/network errors on kick-off and polls (on top of
  // whatever the transport does). Registration is idempotent, so a kick-off
  // may be repeated safely.
  int max_attempts = 6;
};

// The `Parameters` body of one kick-off.
std::string BuildImportParameters(const std::vector<ImportInput>& inputs, ImportMode mode);

// Splits `inputs` into requests of at most `files_per_request` inputs, in order.
std::vector<std::vector<ImportInput>> ChunkImportInputs(const std::vector<ImportInput>& inputs,
                                                        size_t files_per_request);

// A fingerprint of one request (mode + input list), for JobRecord.request_fingerprint.
std::string ImportFingerprint(const std::vector<ImportInput>& inputs, ImportMode mode);

struct ImportOutputEntry {
  std::string type;
  int64_t count = 0;
  std::string input_url;
};
struct ImportErrorEntry {
  std::string type;  // "OperationOutcome"
  int64_t count = 0;
  std::string input_url;
  std::string url;  // NDJSON of OperationOutcomes
};
struct ImportResult {
  std::string transaction_time;
  std::string request;
  std::vector<ImportOutputEntry> output;
  std::vector<ImportErrorEntry> error;
};
// The body of a 200 status answer. kInvalidData on a wrong shape.
base::Result<ImportResult> ParseImportResult(std::string_view body);

// One status poll.
struct ImportPoll {
  bool done = false;
  ImportResult result;                      // when done
  std::optional<base::Millis> retry_after;  // when running and the server said
  std::string progress;                     // X-Progress, when running
};

// One resource the destination refused: an OperationOutcome of an error file.
struct ImportLineError {
  std::string input_url;
  std::string resource_type;  // of the input (from output[]/the request), may be empty
  int64_t line = 0;           // 1-based line of the input file; 0 when the server did not say
  std::string diagnostics;    // SummarizeOutcome of the issues
  std::string outcome_json;   // the OperationOutcome as sent
};

// Reads "line: 12" / "line 12" from a diagnostics text; 0 when absent.
int64_t LineFromDiagnostics(std::string_view diagnostics);

// Expected vs loaded counts per input file.
struct ImportExpectation {
  std::string input_url;
  std::string type;
  int64_t expected = -1;  // -1 unknown: not checked
};
struct ImportComparison {
  int64_t expected = 0;               // sum over inputs with a known count
  int64_t loaded = 0;                 // sum of output[].count
  int64_t errors = 0;                 // sum of error[].count
  std::vector<std::string> problems;  // one line per input that is short or missing
  bool ok() const { return problems.empty(); }
};
// An input is fine when loaded + reported errors >= expected; a shortfall not
// explained by error[] entries, or an input absent from output[], is a problem.
ImportComparison CompareImportCounts(const std::vector<ImportExpectation>& expected,
                                     const ImportResult& result);

class BulkImporter {
 public:
  // `destination`'s transport should already retry (http::NewRetryingTransport);
  // this class also retries 429/5xx itself (max_attempts) with the clock.
  BulkImporter(Client& destination, env::Clock& clock, ImportOptions options);

  const ImportOptions& options() const { return options_; }

  // One POST [base]/$import; returns the Content-Location. Errors:
  //   423 → kConflict "destination refuses $import (423 Locked: initial-import
  //         mode is on or another import holds the lock); retry later"
  //   413 → kInvalidData with http_status 413 (KickoffSplitting splits)
  //   other 4xx → the server's diagnostics; 429/5xx after max_attempts → kTransient.
  base::Result<std::string> Kickoff(const std::vector<ImportInput>& inputs);

  struct Kicked {
    std::string status_url;
    std::vector<ImportInput> inputs;
  };
  // Kick-off that answers 413 by splitting the inputs in halves (recursively);
  // `on_kicked` runs after each accepted request (persist it there); its error
  // stops the kick-offs. A single input answered 413 is an error.
  base::Result<std::vector<Kicked>> KickoffSplitting(
      const std::vector<ImportInput>& inputs,
      const std::function<base::Status(const Kicked&)>& on_kicked);

  // One GET of the status URL (with our 429/5xx retries).
  base::Result<ImportPoll> Poll(const std::string& status_url);

  // Polls until done, sleeping Retry-After (clamped) or a doubling backoff.
  // kCancelled when the clock is interrupted.
  base::Result<ImportResult> Wait(const std::string& status_url);

  // Streams one error file and calls on_error for every OperationOutcome.
  base::Status ReadErrorFile(const ImportErrorEntry& entry, const std::string& resource_type,
                             const std::function<base::Status(ImportLineError)>& on_error);
  // Every error file of a result.
  base::Result<std::vector<ImportLineError>> ReadErrors(const ImportResult& result);

  // The whole flow for one window: chunks of files_per_request, at most
  // parallel_imports jobs in flight, polled round-robin on one thread.
  // `resume` are jobs kicked off before (status URL + inputs): they are polled,
  // not sent again, and their inputs must not be in `inputs`.
  struct Hooks {
    std::function<base::Status(const Kicked&)> on_kicked;  // persist before polling
    std::function<base::Status(const Kicked&, const ImportResult&)> on_done;
    // A job the server reports as failed or unknown (not a transient error);
    // Run then returns that error.
    std::function<void(const Kicked&, const base::Error&)> on_failed;
    // Every status answer of a job still running (its X-Progress, if any).
    std::function<void(const Kicked&, const ImportPoll&)> on_polled;
  };
  base::Result<std::vector<std::pair<Kicked, ImportResult>>> Run(
      const std::vector<ImportInput>& inputs, const std::vector<Kicked>& resume,
      const Hooks& hooks);

 private:
  base::Millis NextDelay(const ImportPoll& poll, base::Millis& backoff) const;

  Client& client_;
  env::Clock& clock_;
  ImportOptions options_;
};

}  // namespace fm::fhir
