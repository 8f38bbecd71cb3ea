#include "verify/export_reader.h"

#include <algorithm>
#include <set>

#include "base/strings.h"
#include "fhir/bundle.h"
#include "json/ndjson.h"
#include "json/resource.h"

namespace fm::verify {
namespace {

constexpr int kMaxLinkRefreshes = 3;

using LineVisitor = json::LineHandler;

base::Error Invalid(const std::string& what) {
  return base::MakeError(base::ErrorKind::kInvalidData, what);
}

// A file link that expired or was revoked: the status URL hands out fresh ones.
bool LinkExpired(const base::Error& e) {
  return e.kind == base::ErrorKind::kNotFound ||
         (e.kind == base::ErrorKind::kUnauthorized && e.http_status == 403);
}

class ExportRead {
 public:
  ExportRead(fhir::BulkExportClient& client, const ExportReadOptions& options,
             const fhir::NoteHook& note)
      : client_(client), clock_(client.clock()), options_(options), note_(note) {}

  base::Result<ExportReadSummary> Run(const std::string& status_url,
                                      const std::vector<std::string>& types,
                                      const ExportVisitor& visit);

 private:
  // Streams one file (the manifest's `index`-th of `kind`) to `on_line`,
  // refreshing expired links from the status URL. Returns its line count.
  base::Result<int64_t> ReadListed(const std::string& status_url, fhir::Manifest& manifest,
                                   bool error_list, size_t index, const LineVisitor& on_line);
  // One file, resumed with Range after a cut. Returns its line count.
  base::Result<int64_t> ReadFile(const fhir::ManifestFile& file, bool requires_token,
                                 const LineVisitor& on_line);
  base::Status CheckErrorLine(std::string_view line, const std::string& shown);
  void Note(const std::string& level, const std::string& message) const {
    if (note_) note_(level, message);
  }

  fhir::BulkExportClient& client_;
  env::Clock& clock_;
  const ExportReadOptions& options_;
  const fhir::NoteHook& note_;
  ExportReadSummary summary_;
  int64_t errors_ = 0;
  std::string first_error_;
};

base::Result<ExportReadSummary> ExportRead::Run(const std::string& status_url,
                                                const std::vector<std::string>& types,
                                                const ExportVisitor& visit) {
  FM_ASSIGN_OR_RETURN(auto poll, client_.Poll(status_url));
  if (poll.failed) return *poll.failed;
  if (poll.gone) {
    return base::MakeError(base::ErrorKind::kTransient,
                           "the export job is gone (404/410) before its manifest");
  }
  fhir::Manifest manifest = std::move(poll.manifest);
  summary_.transaction_time = manifest.transaction_time;
  if (options_.before && manifest.transaction_time &&
      *manifest.transaction_time < *options_.before) {
    Note("info", "the export's transactionTime " + base::FormatInstant(*manifest.transaction_time) +
                     " is before the bound " + base::FormatInstant(*options_.before) +
                     ": resources updated in between are not in it");
  }
  // error[] first: an incomplete export is not worth downloading.
  for (size_t i = 0; i < manifest.error.size(); ++i) {
    std::string shown = base::RedactUrl(manifest.error[i].url);
    FM_TRY_STATUS(ReadListed(status_url, manifest, true, i,
                             [&](std::string_view line) { return CheckErrorLine(line, shown); }));
  }
  if (errors_ > 0) {
    return Invalid("the export reported " + std::to_string(errors_) +
                   " errors in error[] (first: " + first_error_ + ")");
  }
  const std::set<std::string> wanted(types.begin(), types.end());
  json::ResourceReader reader;
  for (size_t i = 0; i < manifest.output.size(); ++i) {
    std::string shown = base::RedactUrl(manifest.output[i].url);
    auto on_line = [&](std::string_view line) -> base::Status {
      auto key = reader.ReadKey(line);
      if (!key.ok()) return Invalid("file " + shown + ": " + key.error().message);
      if (!wanted.count(key->type)) {
        ++summary_.other_types;
        return base::Ok();
      }
      if (key->id.empty()) return Invalid("file " + shown + ": a " + key->type + " has no id");
      if (options_.before) {
        if (!key->last_updated) {
          return Invalid("file " + shown + ": " + key->type + "/" + key->id +
                         " has no meta.lastUpdated");
        }
        if (*key->last_updated >= *options_.before) {
          ++summary_.after_bound;
          return base::Ok();
        }
      }
      ++summary_.delivered;
      return visit(key->type, key->id, line);
    };
    FM_TRY_STATUS(ReadListed(status_url, manifest, false, i, on_line));
    ++summary_.files;
  }
  if (summary_.after_bound > 0) {
    Note("info", std::to_string(summary_.after_bound) +
                     " exported resources updated at or after the bound were left out (the server "
                     "ignored the upper bound)");
  }
  if (summary_.other_types > 0) {
    Note("info",
         std::to_string(summary_.other_types) +
             " exported resources of types not compared were left out (the server ignored _type)");
  }
  return summary_;
}

base::Status ExportRead::CheckErrorLine(std::string_view line, const std::string& shown) {
  auto issues = fhir::ParseOperationOutcome(line);
  if (!issues.ok()) {
    ++errors_;
    if (first_error_.empty()) first_error_ = "a line of " + shown + " is not an OperationOutcome";
    return base::Ok();
  }
  bool error = std::any_of(issues->begin(), issues->end(), [](const fhir::OutcomeIssue& i) {
    return i.severity == "error" || i.severity == "fatal";
  });
  if (error) {
    ++errors_;
    if (first_error_.empty()) first_error_ = fhir::SummarizeOutcome(*issues);
  } else {
    Note("info", "export note: " + fhir::SummarizeOutcome(*issues));
  }
  return base::Ok();
}

base::Result<int64_t> ExportRead::ReadListed(const std::string& status_url,
                                             fhir::Manifest& manifest, bool error_list,
                                             size_t index, const LineVisitor& on_line) {
  for (int refresh = 0;; ++refresh) {
    const auto& list = error_list ? manifest.error : manifest.output;
    const fhir::ManifestFile file = list[index];
    auto lines = ReadFile(file, manifest.requires_access_token, on_line);
    if (lines.ok()) {
      if (file.count >= 0 && file.count != *lines) {
        return Invalid("file " + base::RedactUrl(file.url) + ": the manifest count is " +
                       std::to_string(file.count) + " but the file has " + std::to_string(*lines) +
                       " lines");
      }
      return lines;
    }
    if (!LinkExpired(lines.error()) || refresh >= kMaxLinkRefreshes) return lines.error();
    Note("warn", "file " + base::RedactUrl(file.url) + ": link expired or gone (HTTP " +
                     std::to_string(lines.error().http_status) + "); re-reading the manifest");
    FM_ASSIGN_OR_RETURN(auto poll, client_.Poll(status_url));
    if (poll.failed) return *poll.failed;
    const auto& fresh = error_list ? poll.manifest.error : poll.manifest.output;
    if (poll.gone || fresh.size() != list.size() || fresh[index].type != file.type) {
      return base::MakeError(
          base::ErrorKind::kTransient,
          "file links expired and the status URL no longer lists the same files");
    }
    manifest = std::move(poll.manifest);
  }
}

base::Result<int64_t> ExportRead::ReadFile(const fhir::ManifestFile& file, bool requires_token,
                                           const LineVisitor& on_line) {
  const std::string shown = base::RedactUrl(file.url);
  uint64_t done = 0;  // file bytes through the end of the last complete line handed over
  int64_t lines = 0;  // lines in [0, done)
  fhir::DownloadRetry retry{options_.max_download_attempts, options_.retry_backoff,
                            options_.max_backoff};
  for (int attempt = 1;; ++attempt) {
    if (clock_.Interrupted()) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
    const uint64_t offset = done;
    json::NdjsonSplitter splitter;
    uint64_t received = 0, complete = 0;
    int64_t got = 0;
    std::optional<base::Error> line_error;  // bad data or the visitor's failure: never retried
    auto count = [&](std::string_view line) -> base::Status {
      FM_TRY_STATUS(on_line(line));
      ++got;
      return base::Ok();
    };
    auto result = client_.Download(file.url, requires_token, offset,
                                   [&](std::string_view chunk) -> base::Status {
                                     received += chunk.size();
                                     base::Status s = splitter.Feed(chunk, count);
                                     if (!s.ok()) {
                                       line_error = s.error();
                                       return s;
                                     }
                                     complete = received - splitter.pending_bytes();
                                     return base::Ok();
                                   });
    if (line_error) return *line_error;
    if (result.ok()) {
      FM_TRY_STATUS(splitter.Finish(count));
      if (offset > 0 && result->status == 200) {
        Note("info", "file " + shown + ": the server ignored Range and sent the whole file again");
        return got;
      }
      return lines + got;
    }
    const base::Error& e = result.error();
    if (e.http_status == 416 && offset > 0) return lines;  // the cut fell after the last line
    if (e.kind == base::ErrorKind::kCancelled || LinkExpired(e)) return e;
    if (offset == 0) {
      // Only a first request is known to have answered 200 from byte 0; after
      // a broken resumed request only the prefix from before it is trusted.
      done = complete;
      lines = got;
    }
    FM_TRY_STATUS(fhir::WaitToRetryDownload(e, attempt, shown, done, retry, clock_, note_));
  }
}

}  // namespace

base::Result<ExportReadSummary> ForEachExported(fhir::BulkExportClient& client,
                                                const std::vector<std::string>& types,
                                                const ExportReadOptions& options,
                                                const ExportVisitor& visit,
                                                const fhir::NoteHook& note) {
  fhir::ExportRequestOptions request = options.request;
  request.level = fhir::ExportLevel::kSystem;
  FM_ASSIGN_OR_RETURN(std::string status_url,
                      client.KickOff(request, std::nullopt, options.before, types));
  ExportRead read(client, options, note);
  auto result = read.Run(status_url, types, visit);
  // Done or failed, the server may drop the job and its files now.
  if (auto s = client.Delete(status_url); !s.ok() && note) {
    note("warn", "DELETE of the export status URL failed: " + s.error().message);
  }
  return result;
}

}  // namespace fm::verify
