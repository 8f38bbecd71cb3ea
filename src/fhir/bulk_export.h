// Bulk Data $export client (Bulk Data Access v2, plus the STU3 `_until` and
// Azure `_till` upper bounds): kick-off, status polling, the completion
// manifest, file downloads and cleanup. It talks to a raw Transport (no retry
// wrapper): every retry decision of the protocol (Retry-After, 429, transient
// OperationOutcomes, Range resume) is made here or by the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "env/clock.h"
#include "http/transport.h"

namespace fm::fhir {

enum class ExportLevel { kSystem, kPatient, kGroup };

struct ExportRequestOptions {
  ExportLevel level = ExportLevel::kSystem;
  std::string group_id;                     // kGroup
  bool post = false;                        // POST a Parameters body instead of GET
  std::string upper_bound_param = "_till";  // "_till", "_until" or "" (none)
  bool upper_bound_inclusive = false;       // the server treats the bound as `le`
  std::string output_format = "application/fhir+ndjson";
  std::vector<std::string> type_filter;  // _typeFilter values
  std::vector<std::string> include_associated_data;
  std::vector<std::pair<std::string, std::string>> extra_params;  // e.g. _maxCount=5000
};

// The query parameters of one kick-off, in order (unencoded). With
// `upper_bound_inclusive`, the bound sent is till - 1 ms, so [since, till)
// stays half-open on a server that compares with `le`.
std::vector<std::pair<std::string, std::string>> ExportParams(
    const ExportRequestOptions& options, std::optional<base::Instant> since,
    std::optional<base::Instant> till, const std::vector<std::string>& types);

struct ManifestFile {
  std::string type;
  std::string url;
  int64_t count = -1;  // -1: not given
};

struct Manifest {
  std::optional<base::Instant> transaction_time;
  std::string request;
  bool requires_access_token = false;
  std::vector<ManifestFile> output;
  std::vector<ManifestFile> error;
  std::vector<ManifestFile> deleted;
};

// Parses a completion manifest. Unknown fields and extensions are ignored;
// kInvalidData names the field that is wrong and never quotes the body.
base::Result<Manifest> ParseManifest(std::string_view body);

// Returns the Authorization header value for a URL (e.g. "Bearer <token>"),
// or nullopt for none. `force_refresh` asks for a renewed token (the server
// answered 401 to the current one). The auth module wires a real one.
using AuthHook =
    std::function<std::optional<std::string>(const std::string& url, bool force_refresh)>;
// (level, message): notes for the log ("info", "warn").
using NoteHook = std::function<void(const std::string& level, const std::string& message)>;
// Refuses URLs a server hands back that point somewhere they must not
// (server-side request forgery guard): called before every status poll,
// DELETE and file download with what is about to be fetched, and for every
// redirect hop of a download.
using UrlGuard = std::function<base::Status(const std::string& what, const std::string& url)>;

struct PollOptions {
  base::Millis initial_interval{std::chrono::seconds(1)};
  base::Millis max_interval{std::chrono::minutes(1)};
  base::Millis max_retry_after{std::chrono::minutes(5)};  // longer Retry-After is clamped
  int max_transient_errors = 10;  // consecutive 5xx/transient answers before giving up
  base::Millis max_wait{std::chrono::hours(24)};  // total polling time of one job
};

struct PollResult {
  bool gone = false;  // 404/410: the job is unknown to the server (dead)
  // The server says the job failed for good: a 4xx (not 401/403/404/410/429)
  // or a 5xx with an OperationOutcome and no transient issue. The error
  // carries the server's diagnostics; polling again cannot help.
  std::optional<base::Error> failed;
  Manifest manifest;  // when neither gone nor failed
  std::string body;   // the raw manifest
};

struct DownloadResult {
  int status = 0;      // 200, 206
  uint64_t bytes = 0;  // body bytes delivered to the sink
};

class BulkExportClient {
 public:
  BulkExportClient(std::string name, std::string base_url, http::Transport& transport,
                   env::Clock& clock, PollOptions poll, NoteHook note = nullptr,
                   AuthHook auth = nullptr);

  // Kicks off an export; returns the absolute status URL (Content-Location).
  // 429 (another export is running) waits per Retry-After and tries again, as
  // does a 5xx unless its OperationOutcome says it failed for good (no
  // transient issue); any other answer fails at once. Notes and errors carry
  // the server's own words (its OperationOutcome diagnostics).
  base::Result<std::string> KickOff(const ExportRequestOptions& options,
                                    std::optional<base::Instant> since,
                                    std::optional<base::Instant> till,
                                    const std::vector<std::string>& types);

  // Polls until the manifest (200) or until the job is known dead (404/410,
  // PollResult::gone). 202 waits with exponential backoff or Retry-After
  // (seconds or HTTP-date, clamped to max_retry_after with a note); X-Progress
  // becomes a note; 429 backs off; 5xx and transient OperationOutcomes are
  // retried; a job that failed for good is PollResult::failed (see there);
  // 401/403 fail with the server's message.
  base::Result<PollResult> Poll(const std::string& status_url);

  void SetUrlGuard(UrlGuard guard) { url_guard_ = std::move(guard); }

  // DELETE of the status URL (cancel, or "done downloading"). 404/410 is fine.
  base::Status Delete(const std::string& status_url);

  // GETs one file, streaming its body to `sink`. With `offset` > 0 it asks for
  // `Range: bytes=offset-` (identity encoding); the result's status tells
  // whether the server resumed (206) or sent everything again (200). The
  // Authorization header is sent only when `requires_access_token` and the
  // URL has the origin of the FHIR base. Redirects (at most 5) are followed
  // here: every hop must pass the URL guard, and carries Authorization only
  // under the same rule (never to another origin). Non-2xx → Error
  // (404/410/403 as kNotFound/kUnauthorized so the caller can refresh an
  // expired link).
  //
  // Every request (kick-off, poll, DELETE, download) asks the AuthHook for
  // the current header when it is sent, so a long poll never reuses an
  // expired token; a 401 to a request that carried one renews the token
  // (force_refresh) and sends the request once more.
  base::Result<DownloadResult> Download(const std::string& url, bool requires_access_token,
                                        uint64_t offset, const http::BodySink& sink);

  // Whether Authorization would be sent to `url` (public for tests).
  bool MaySendAuthorization(const std::string& url, bool requires_access_token) const;

  const std::string& base_url() const { return base_url_; }
  // The clock its waits sleep on; a caller retrying around it uses the same.
  env::Clock& clock() const { return clock_; }

 private:
  void Note(const std::string& level, const std::string& message) const;
  // Sets (or removes) Authorization; true when a value was set.
  bool AddAuth(http::Request& request, bool allowed, bool force_refresh = false) const;
  // One exchange with the current token; a 401 to a request that carried a
  // token renews it and sends once more.
  base::Result<http::Response> SendWithAuth(http::Request& request, bool allowed);
  // The delay a Retry-After header asks for, clamped, or `fallback`.
  base::Millis WaitFor(const http::Response& response, base::Millis fallback,
                       const std::string& what);

  std::string name_;
  std::string base_url_;
  http::Transport& transport_;
  env::Clock& clock_;
  PollOptions poll_;
  NoteHook note_;
  AuthHook auth_;
  UrlGuard url_guard_;
};

// How a file download is retried after a failure (see WaitToRetryDownload).
struct DownloadRetry {
  int max_attempts = 5;
  base::Millis backoff{1000};       // the next wait; doubled after each retry
  base::Millis max_backoff{60000};  // cap of the wait and of a Retry-After
};

// The step after attempt `attempt` (1-based) to download file `shown` failed
// with `e`, shared by everything that downloads export files: an error naming
// the file when `e` is not retryable or the attempts are used up; otherwise a
// note, a wait (the server's Retry-After capped at max_backoff, else the
// current backoff), the backoff doubled up to its cap, and Ok to try again —
// from byte `resume_from` (Range) when above 0. kCancelled when the wait was
// interrupted.
base::Status WaitToRetryDownload(const base::Error& e, int attempt, const std::string& shown,
                                 uint64_t resume_from, DownloadRetry& retry, env::Clock& clock,
                                 const NoteHook& note);

}  // namespace fm::fhir
