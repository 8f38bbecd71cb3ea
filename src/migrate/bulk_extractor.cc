#include "migrate/bulk_extractor.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include "base/mutex.h"
#include "base/strings.h"
#include "fhir/bundle.h"
#include "json/ndjson.h"
#include "json/resource.h"

namespace fm::migrate {
namespace {

constexpr int kMaxExportRestarts = 3;
constexpr int kMaxLinkRefreshes = 5;
constexpr int64_t kCheckpointLines = 5000;  // lines between mid-file checkpoints
constexpr int64_t kReportLines = 500;       // lines between OnResourcesExtracted events

std::string Describe(const store::Window& w) {
  return "window #" + std::to_string(w.id) + " [" + base::FormatInstant(w.since) + ", " +
         base::FormatInstant(w.till) + ")";
}

base::Error Cancelled() { return base::MakeError(base::ErrorKind::kCancelled, "stopped"); }

// Reads a staged file line by line.
base::Status ForEachLine(env::FileSystem& fs, const std::string& path,
                         const json::LineHandler& on_line) {
  FM_ASSIGN_OR_RETURN(auto file, fs.OpenForRead(path));
  json::NdjsonSplitter splitter;
  std::string buf(1 << 16, '\0');
  while (true) {
    FM_ASSIGN_OR_RETURN(size_t n, file->Read(buf.data(), buf.size()));
    if (n == 0) break;
    FM_TRY_STATUS(splitter.Feed(std::string_view(buf.data(), n), on_line));
  }
  return splitter.Finish(on_line);
}

}  // namespace

fhir::ExportRequestOptions ExportRequestFrom(const BulkOptions& options) {
  fhir::ExportRequestOptions r;
  r.level = options.level == "patient" ? fhir::ExportLevel::kPatient
            : options.level == "group" ? fhir::ExportLevel::kGroup
                                       : fhir::ExportLevel::kSystem;
  r.group_id = options.group_id;
  r.post = options.post;
  r.upper_bound_param = options.upper_bound_param;
  r.upper_bound_inclusive = options.upper_bound_inclusive;
  r.type_filter = options.type_filter;
  r.include_associated_data = options.include_associated_data;
  r.extra_params = options.extra_params;
  return r;
}

BulkExtractor::BulkExtractor(fhir::BulkExportClient& client, store::StateStore& store,
                             env::FileSystem& fs, env::Clock& clock, const BulkOptions& options,
                             std::string staging_dir, ProgressSink& sink)
    : client_(client),
      store_(store),
      fs_(fs),
      clock_(clock),
      options_(options),
      staging_dir_(std::move(staging_dir)),
      sink_(sink) {}

void BulkExtractor::Note(const std::string& level, const std::string& message) {
  sink_.OnNote(level, message);
}

std::string BulkExtractor::WindowDir(int64_t window_id) const {
  return staging_dir_ + "/window-" + std::to_string(window_id);
}

base::Result<std::map<std::string, int64_t>> BulkExtractor::ExtractWindow(
    store::Window& w, const std::vector<std::string>& types, ResourceConsumer& out) {
  std::map<std::string, int64_t> counts;
  for (int round = 0;; ++round) {
    FM_ASSIGN_OR_RETURN(Next next, Attempt(w, types, out, counts));
    if (next == Next::kDone) break;
    if (round + 1 >= kMaxExportRestarts) {
      return base::MakeError(
          base::ErrorKind::kTransient,
          Describe(w) + ": the source lost the export job " + std::to_string(round + 1) + " times");
    }
  }
  if (!options_.keep_files && !options_.stage_only) {  // stage_only: the import reads them
    FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
    for (const auto& f : files) {
      if (!f.staged_path.empty()) (void)fs_.Remove(f.staged_path);
    }
  }
  return counts;
}

base::Status BulkExtractor::KickOff(store::Window& w, const std::vector<std::string>& types) {
  std::vector<std::string> export_types = types;
  if (!w.resource_type.empty()) export_types = {w.resource_type};
  FM_ASSIGN_OR_RETURN(std::string url,
                      client_.KickOff(ExportRequestFrom(options_), w.since, w.till, export_types));
  // Persisted before the first poll: a crash from here on resumes this job.
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    w.export_url = url;
    w.manifest_json.clear();
    w.transaction_time.reset();
    w.status = store::WindowStatus::kExtracting;
    w.updated_at = clock_.Now();
    FM_TRY_STATUS(store_.UpdateWindow(w));
    FM_TRY_STATUS(store_.DeleteFiles(w.id));
    store::JobRecord job;
    job.kind = "export";
    job.window_id = w.id;
    job.server = "source";
    job.status_url = url;
    job.status = "running";
    job.created_at = job.updated_at = clock_.Now();
    FM_TRY_STATUS(store_.AddJob(job));
    return base::Ok();
  }));
  Note("info", Describe(w) + ": export kicked off, status URL " + base::RedactUrl(url));
  return base::Ok();
}

// The job is dead or its output unusable: forget it, so the next attempt
// kicks off a new export.
base::Status BulkExtractor::Forget(store::Window& w, const std::string& why) {
  FM_ASSIGN_OR_RETURN(auto files, store::ForgetExport(store_, w.id, why, clock_.Now(), &w));
  for (const auto& f : files) {
    if (!f.staged_path.empty()) (void)fs_.Remove(f.staged_path);
  }
  return base::Ok();
}

void BulkExtractor::Abandon(const store::Window& w) {
  if (!options_.delete_status_url || w.export_url.empty()) return;
  if (auto s = client_.Delete(w.export_url); !s.ok()) {
    Note("warn", Describe(w) + ": DELETE of the abandoned export job failed: " + s.error().message);
  } else {
    Note("info", Describe(w) + ": the abandoned export job was deleted on the source");
  }
}

// The source says the job failed for good: its status URL is DELETEd and
// forgotten, and the window's next attempt kicks off a new export.
base::Error BulkExtractor::FailedForGood(store::Window& w, const base::Error& failed) {
  Note("warn",
       Describe(w) + ": " + failed.message + "; the window exports again on its next " + "attempt");
  Abandon(w);
  if (auto s = Forget(w, failed.message); !s.ok()) return s.error();
  return failed;
}

base::Status BulkExtractor::RecordManifest(store::Window& w, const fhir::PollResult& poll) {
  const fhir::Manifest& m = poll.manifest;
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    w.manifest_json = poll.body;
    w.transaction_time = m.transaction_time;
    w.updated_at = clock_.Now();
    FM_TRY_STATUS(store_.UpdateWindow(w));
    FM_TRY_STATUS(store_.DeleteFiles(w.id));
    auto add = [&](const std::vector<fhir::ManifestFile>& list, const char* kind) -> base::Status {
      for (const auto& f : list) {
        store::FileRecord r;
        r.window_id = w.id;
        r.kind = kind;
        r.resource_type = f.type;
        r.url = f.url;
        r.expected_count = f.count;
        r.status = store::FileStatus::kPending;
        FM_TRY_STATUS(store_.AddFile(r));
      }
      return base::Ok();
    };
    FM_TRY_STATUS(add(m.output, "output"));
    FM_TRY_STATUS(add(m.error, "error"));
    FM_TRY_STATUS(add(m.deleted, "deleted"));
    FM_ASSIGN_OR_RETURN(auto jobs, store_.ListJobs(w.id));
    for (auto& job : jobs) {
      if (job.kind == "export" && job.status_url == w.export_url) {
        job.status = "done";
        job.result_json = poll.body;
        job.updated_at = clock_.Now();
        FM_TRY_STATUS(store_.UpdateJob(job));
      }
    }
    return base::Ok();
  }));
  int64_t total = 0;
  size_t uncounted = 0;  // files listed without `count` (it is optional)
  for (const auto& f : m.output) {
    total += std::max<int64_t>(f.count, 0);
    if (f.count < 0) ++uncounted;
  }
  std::string resources =
      uncounted == 0
          ? std::to_string(total) + " resources"
          : std::to_string(uncounted) + " files with no resource counts (counted as they are read)";
  Note("info", Describe(w) + ": export complete (transactionTime " +
                   (m.transaction_time ? base::FormatInstant(*m.transaction_time) : "?") +
                   "): " + std::to_string(m.output.size()) + " files, " + resources + ", " +
                   std::to_string(m.error.size()) + " error files, " +
                   std::to_string(m.deleted.size()) + " deleted files");
  return base::Ok();
}

// Re-reads the manifest from the status URL for fresh file links. False when
// the job is gone (the window must be exported again).
base::Result<bool> BulkExtractor::RefreshLinks(store::Window& w) {
  if (w.export_url.empty()) return false;
  FM_ASSIGN_OR_RETURN(auto poll, client_.Poll(w.export_url));
  if (poll.failed) return FailedForGood(w, *poll.failed);
  if (poll.gone) return false;
  FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
  const fhir::Manifest& m = poll.manifest;
  FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
    std::map<std::pair<std::string, std::string>, size_t> seen;  // (kind, type) → index
    for (auto& f : files) {
      const auto& list = f.kind == "error" ? m.error : f.kind == "deleted" ? m.deleted : m.output;
      size_t& i = seen[{f.kind, f.resource_type}];
      size_t n = 0;
      for (const auto& item : list) {
        if (item.type != f.resource_type) continue;
        if (n++ == i) {
          f.url = item.url;
          break;
        }
      }
      ++i;
      FM_TRY_STATUS(store_.UpdateFile(f));
    }
    w.manifest_json = poll.body;
    return store_.UpdateWindow(w);
  }));
  Note("info", Describe(w) + ": re-read the manifest for fresh file links");
  return true;
}

base::Status BulkExtractor::DownloadOne(store::FileRecord& file, bool requires_token,
                                        bool& expired) {
  std::string path = WindowDir(file.window_id) + "/" + std::to_string(file.id) + "-" +
                     (file.resource_type.empty() ? file.kind : file.resource_type) + ".ndjson";
  file.staged_path = path;
  file.status = store::FileStatus::kDownloading;
  FM_TRY_STATUS(store_.UpdateFile(file));

  uint64_t bytes = 0;  // bytes of the file staged so far (a valid prefix)
  std::unique_ptr<env::WritableFile> out;
  // Reopens the staged file cut back to `size` bytes.
  auto reopen_at = [&](uint64_t size) -> base::Status {
    if (out) {
      (void)out->Close();
      out.reset();
    }
    if (size == 0) {
      FM_ASSIGN_OR_RETURN(out, fs_.OpenForWrite(path, /*append=*/false));
    } else {
      FM_TRY_STATUS(fs_.Truncate(path, size));
      FM_ASSIGN_OR_RETURN(out, fs_.OpenForWrite(path, /*append=*/true));
    }
    bytes = size;
    return base::Ok();
  };
  FM_TRY_STATUS(reopen_at(0));
  std::string shown = base::RedactUrl(file.url);
  fhir::DownloadRetry retry{options_.max_download_attempts, options_.poll_interval,
                            options_.max_poll_interval};
  const fhir::NoteHook note = [this](const std::string& level, const std::string& message) {
    Note(level, message);
  };
  for (int attempt = 1;; ++attempt) {
    if (clock_.Interrupted()) return Cancelled();
    uint64_t offset = bytes;
    auto result = client_.Download(file.url, requires_token, offset,
                                   [&](std::string_view chunk) -> base::Status {
                                     FM_TRY_STATUS(out->Append(chunk));
                                     bytes += chunk.size();
                                     return base::Ok();
                                   });
    if (result.ok() && offset > 0 && result->status == 200) {
      // The server ignored Range and sent the whole file after our prefix.
      Note("info", "file " + shown + ": the server ignored Range; downloading it again whole");
      FM_TRY_STATUS(reopen_at(0));
      continue;
    }
    if (result.ok()) break;
    const base::Error& e = result.error();
    if (e.kind == base::ErrorKind::kCancelled) return e;
    if (offset > 0 && bytes > offset) {
      // A resumed transfer broke: whether the server answered 206 or the
      // whole file is unknown, so only the prefix from before it is trusted.
      FM_TRY_STATUS(reopen_at(offset));
    }
    if (e.kind == base::ErrorKind::kNotFound ||
        (e.kind == base::ErrorKind::kUnauthorized && e.http_status == 403)) {
      Note("warn", "file " + shown + ": link expired or gone (HTTP " +
                       std::to_string(e.http_status) + "); re-reading the manifest");
      expired = true;
      if (out) (void)out->Close();
      file.status = store::FileStatus::kPending;
      return store_.UpdateFile(file);
    }
    FM_TRY_STATUS(fhir::WaitToRetryDownload(e, attempt, shown, bytes, retry, clock_, note));
  }
  FM_TRY_STATUS(out->Sync());
  FM_TRY_STATUS(out->Close());
  // Count the lines of the complete file (blank lines do not count).
  int64_t lines = 0;
  FM_TRY_STATUS(ForEachLine(fs_, path, [&](std::string_view) -> base::Status {
    ++lines;
    return base::Ok();
  }));
  if (file.expected_count >= 0 && file.expected_count != lines) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           "file " + shown + ": the manifest count is " +
                               std::to_string(file.expected_count) + " but the file has " +
                               std::to_string(lines) + " lines");
  }
  file.bytes = static_cast<int64_t>(bytes);
  file.lines = lines;
  file.lines_loaded = 0;
  file.status = store::FileStatus::kStaged;
  return store_.UpdateFile(file);
}

base::Result<bool> BulkExtractor::DownloadAll(
    store::Window& w, bool requires_token,
    const std::function<void(const store::FileRecord&)>& on_staged, const std::atomic<bool>* stop) {
  FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
  std::vector<store::FileRecord> todo;
  for (auto& f : files) {
    // passthrough: the destination imports the source's URLs; nothing to fetch.
    if (options_.stage_only && options_.passthrough && f.kind == "output") continue;
    bool staged = f.status == store::FileStatus::kStaged ||
                  f.status == store::FileStatus::kLoading || f.status == store::FileStatus::kLoaded;
    if (staged && f.status != store::FileStatus::kLoaded && !fs_.Exists(f.staged_path)) {
      staged = false;  // the staged copy was removed by hand: fetch it again
    }
    if (!staged) todo.push_back(f);
  }
  if (todo.empty()) return true;
  FM_TRY_STATUS(fs_.CreateDirs(WindowDir(w.id)));
  std::atomic<size_t> next{0};
  std::atomic<bool> expired{false};
  struct {
    base::Mutex mu;
    std::optional<base::Error> first_error FM_GUARDED_BY(mu);
  } shared;
  auto worker = [&] {
    while (true) {
      {
        base::MutexLock lock(shared.mu);
        if (shared.first_error || expired || (stop && *stop)) return;
      }
      size_t i = next++;
      if (i >= todo.size()) return;
      bool gone = false;
      base::Status s = DownloadOne(todo[i], requires_token, gone);
      if (gone) expired = true;
      if (s.ok() && !gone && on_staged && todo[i].status == store::FileStatus::kStaged) {
        on_staged(todo[i]);
      }
      if (!s.ok()) {
        base::MutexLock lock(shared.mu);
        if (!shared.first_error) shared.first_error = s.error();
      }
    }
  };
  int n = std::max(1, std::min<int>(options_.parallel_downloads, static_cast<int>(todo.size())));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  base::MutexLock lock(shared.mu);
  if (shared.first_error) return *shared.first_error;
  return !expired.load();
}

base::Status BulkExtractor::RecordErrorsAndDeletions(const store::Window& w) {
  FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
  int64_t errors = 0;        // OperationOutcomes with an issue of severity error/fatal
  std::string first_reason;  // of the first of them
  for (const auto& f : files) {
    if (f.kind == "error") {
      int64_t n = 0;
      int64_t notes = 0;
      FM_TRY_STATUS(ForEachLine(fs_, f.staged_path, [&](std::string_view line) -> base::Status {
        ++n;
        auto issues = fhir::ParseOperationOutcome(line);
        const fhir::OutcomeIssue* error = nullptr;
        if (issues.ok()) {
          for (const auto& issue : *issues) {
            if (issue.severity == "error" || issue.severity == "fatal") {
              error = &issue;
              break;
            }
          }
          if (error == nullptr) {  // warnings and information: the resources are in output[]
            ++notes;
            Note("info",
                 Describe(w) + ": the source noted in error[]: " + fhir::SummarizeOutcome(*issues));
            return base::Ok();
          }
        }
        // An error: a resource is missing from output[].
        store::Failure failure;
        failure.window_id = w.id;
        failure.stage = "export";
        failure.reason = issues.ok() ? fhir::SummarizeOutcome(*issues)
                                     : "an export error line that is not an OperationOutcome";
        if (issues.ok()) failure.outcome_json = std::string(line);
        if (error != nullptr) {
          // "Patient/p1" or "Patient/p1/_history/2": what the issue concerns.
          auto parts = base::Split(error->expression, '/');
          if (parts.size() >= 2 && !parts[0].empty() && !parts[1].empty() &&
              parts[0].find('.') == std::string_view::npos) {
            failure.resource_type = std::string(parts[0]);
            failure.resource_id = std::string(parts[1]);
          }
        }
        failure.body_location = f.staged_path + ":" + std::to_string(n);
        failure.at = clock_.Now();
        FM_TRY_STATUS(store_.AddFailure(failure));
        sink_.OnResourceFailed(failure);
        if (errors++ == 0) first_reason = failure.reason;
        return base::Ok();
      }));
      if (n > notes) {
        Note("warn",
             Describe(w) + ": the export reported " + std::to_string(n - notes) +
                 " errors in error[] (recorded in failures, stage export): " + first_reason);
      }
    }
  }
  if (errors > 0) {
    // Resources are missing from output[]: this export cannot complete the
    // window; the caller forgets it and the next attempt exports again.
    return base::MakeError(base::ErrorKind::kInvalidData,
                           Describe(w) + ": the source reported " + std::to_string(errors) +
                               " errors in error[]: " + first_reason);
  }
  for (const auto& f : files) {
    if (f.kind == "deleted") {
      json::ResourceReader reader;
      FM_TRY_STATUS(ForEachLine(fs_, f.staged_path, [&](std::string_view line) -> base::Status {
        // A transaction Bundle of DELETE entries: request.url is "Type/id".
        std::string text(line);
        size_t pos = 0;
        while ((pos = text.find("\"url\"", pos)) != std::string::npos) {
          pos += 5;
          size_t q1 = text.find('"', text.find(':', pos));
          if (q1 == std::string::npos) break;
          size_t q2 = text.find('"', q1 + 1);
          if (q2 == std::string::npos) break;
          std::string url = text.substr(q1 + 1, q2 - q1 - 1);
          pos = q2 + 1;
          auto parts = base::Split(url, '/');
          if (parts.size() < 2) continue;
          store::Deletion d;
          d.window_id = w.id;
          d.resource_type = std::string(parts[parts.size() - 2]);
          d.resource_id = std::string(parts[parts.size() - 1]);
          d.at = clock_.Now();
          FM_TRY_STATUS(store_.AddDeletion(d));
        }
        return base::Ok();
      }));
    }
  }
  return base::Ok();
}

base::Status BulkExtractor::LoadFile(store::Window& w, store::FileRecord& file,
                                     ResourceConsumer& out,
                                     std::map<std::string, int64_t>& counts) {
  json::ResourceReader reader;
  int64_t line_no = 0;
  int64_t delivered = 0, below = 0, above = 0, deleted_versions = 0;
  // Lines handed to the loader and not yet reported as read (resources, and
  // deleted versions sent as deletes): reported every kReportLines, so "read"
  // keeps up with "loaded" in a long file.
  int64_t unreported = 0;
  auto report = [&] {
    if (unreported > 0) sink_.OnResourcesExtracted(w.id, file.resource_type, unreported);
    unreported = 0;
  };
  sink_.OnWindowStage(w.id, WindowStage::kLoading, -1);
  file.status = store::FileStatus::kLoading;
  FM_TRY_STATUS(store_.UpdateFile(file));
  std::string shown = base::RedactUrl(file.url);
  FM_TRY_STATUS(ForEachLine(fs_, file.staged_path, [&](std::string_view line) -> base::Status {
    ++line_no;
    if (line_no <= file.lines_loaded) {
      // Loaded by an earlier attempt: not sent again, but an older version of
      // the same resource further down must not replace it.
      if (auto done = reader.ReadKey(line); done.ok() && !done->id.empty()) {
        out.AlreadyLoaded(Resource{std::move(done->type), std::move(done->id), "",
                                   std::move(done->version_id), done->last_updated});
      }
      return base::Ok();
    }
    auto key = reader.ReadKey(line);
    if (!key.ok()) {
      return base::MakeError(
          base::ErrorKind::kInvalidData,
          "file " + shown + " line " + std::to_string(line_no) + ": " + key.error().message);
    }
    if (key->id.empty()) {
      return base::MakeError(base::ErrorKind::kInvalidData,
                             "file " + shown + " line " + std::to_string(line_no) + ": no id");
    }
    if (key->last_updated) {
      if (*key->last_updated < w.since) {
        ++below;
        return base::Ok();
      }
      if (*key->last_updated >= w.till) {
        ++above;
        return base::Ok();
      }
    }
    if (key->soft_deleted) {
      // includeAssociatedData=_deleted: a deleted version, not a resource.
      // PUT, it would create on the destination what the source deleted.
      ++deleted_versions;
      if (!options_.deleted_versions_delete) return base::Ok();
      // propagate_deletes: a DELETE, ordered with the resource's versions (a
      // newer version already sent makes the loader skip it). Read like a
      // resource: the loader counts it as loaded or failed.
      counts[key->type] += 1;
      if (++unreported >= kReportLines) report();
      return out.Consume(Resource{std::move(key->type), std::move(key->id), "",
                                  std::move(key->version_id), key->last_updated});
    }
    ++delivered;
    counts[key->type] += 1;
    if (++unreported >= kReportLines) report();
    FM_TRY_STATUS(out.Consume(Resource{std::move(key->type), std::move(key->id), std::string(line),
                                       std::move(key->version_id), key->last_updated}));
    if (line_no % kCheckpointLines == 0) {
      // Mid-file checkpoint: only once the destination acknowledged every
      // line handed over so far.
      FM_TRY_STATUS(out.Drain());
      file.lines_loaded = line_no;
      FM_TRY_STATUS(store_.UpdateFile(file));
    }
    return base::Ok();
  }));
  // The checkpoint covers only what the destination acknowledged.
  FM_TRY_STATUS(out.Drain());
  report();
  file.lines_loaded = line_no;
  file.status = store::FileStatus::kLoaded;
  FM_TRY_STATUS(store_.UpdateFile(file));
  if (deleted_versions > 0 && options_.deleted_versions_delete) {
    Note("info", "file " + shown + ": " + std::to_string(deleted_versions) +
                     " deleted versions (marked soft-deleted) were sent as deletes "
                     "(migration.propagate_deletes)");
  } else if (deleted_versions > 0) {
    Note("info", "file " + shown + ": " + std::to_string(deleted_versions) +
                     " deleted versions (marked soft-deleted) were not loaded; with "
                     "migration.propagate_deletes they are sent as deletes");
  }
  if (below > 0) {
    Note("warn", "file " + shown + ": " + std::to_string(below) +
                     " resources updated before the window start were skipped (the server "
                     "ignores _since?)");
  }
  if (above > 0) {
    Note("info", "file " + shown + ": " + std::to_string(above) +
                     " resources updated after the window end were left to a later window "
                     "(the server ignored the upper bound)");
  }
  if (!options_.keep_files) (void)fs_.Remove(file.staged_path);
  return base::Ok();
}

base::Result<BulkExtractor::Next> BulkExtractor::Attempt(store::Window& w,
                                                         const std::vector<std::string>& types,
                                                         ResourceConsumer& out,
                                                         std::map<std::string, int64_t>& counts) {
  sink_.OnWindowStage(w.id, WindowStage::kExporting, -1);
  if (w.export_url.empty()) {
    FM_TRY_STATUS(KickOff(w, types));
  } else if (w.manifest_json.empty()) {
    Note("info", Describe(w) + ": resuming the export job " + base::RedactUrl(w.export_url));
  }
  std::optional<fhir::Manifest> manifest;
  if (w.manifest_json.empty()) {
    FM_ASSIGN_OR_RETURN(auto poll, client_.Poll(w.export_url));
    if (poll.failed) return FailedForGood(w, *poll.failed);
    if (poll.gone) {
      Note("warn", Describe(w) + ": the export job " + base::RedactUrl(w.export_url) +
                       " is gone (404/410); exporting the window again");
      FM_TRY_STATUS(Forget(w, "status URL answered 404/410"));
      return Next::kRestartExport;
    }
    FM_TRY_STATUS(RecordManifest(w, poll));
    manifest = std::move(poll.manifest);
  } else {
    FM_ASSIGN_OR_RETURN(auto parsed, fhir::ParseManifest(w.manifest_json));
    manifest = std::move(parsed);
  }

  FM_TRY_STATUS(FollowServerClock(w, *manifest));
  FM_TRY_STATUS(AnnounceDownloads(w));
  if (!options_.stage_only) return DownloadAndLoad(w, manifest->requires_access_token, out, counts);

  // Stage only ($import loads the files): every file staged, then counted.
  for (int refresh = 0;; ++refresh) {
    auto staged = DownloadAll(w, manifest->requires_access_token);
    FM_ASSIGN_OR_RETURN(auto next, AfterDownloads(w, staged, refresh));
    if (next == Next::kRestartExport) return next;
    if (*staged) break;
  }
  if (auto finished = FinishStaging(w); !finished.ok()) {
    return AfterDownloads(w, finished.error(), 0);  // errors in error[]: export again
  }
  w.status = store::WindowStatus::kLoading;
  w.updated_at = clock_.Now();
  FM_TRY_STATUS(store_.UpdateWindow(w));
  FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
  // Counts of what the export holds; the window loader loads the files.
  std::map<std::string, int64_t> staged;
  for (const auto& f : files) {
    if (f.kind != "output") continue;
    staged[f.resource_type] += f.lines > 0 ? f.lines : std::max<int64_t>(f.expected_count, 0);
  }
  for (const auto& [type, n] : staged) {
    counts[type] += n;
    if (n > 0) sink_.OnResourcesExtracted(w.id, type, n);
  }
  return Next::kDone;
}

base::Status BulkExtractor::AnnounceDownloads(const store::Window& w) {
  if (options_.stage_only && options_.passthrough) return base::Ok();  // nothing to download
  // What is left to load: the manifest's counts less the lines an earlier
  // attempt loaded; unknown when the manifest gives no count for a file.
  FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
  int64_t expected = 0;
  for (const auto& f : files) {
    if (f.kind != "output") continue;
    if (f.expected_count < 0) {
      expected = -1;
      break;
    }
    expected += std::max<int64_t>(f.expected_count - f.lines_loaded, 0);
  }
  sink_.OnWindowStage(w.id, WindowStage::kDownloading, expected);
  return base::Ok();
}

base::Result<BulkExtractor::Next> BulkExtractor::AfterDownloads(store::Window& w,
                                                                const base::Result<bool>& staged,
                                                                int refresh) {
  if (!staged.ok()) {
    if (staged.error().kind == base::ErrorKind::kInvalidData) {
      // A count mismatch or bad bytes: this job's output cannot be trusted;
      // the next attempt exports the window again.
      Abandon(w);
      FM_TRY_STATUS(Forget(w, staged.error().message));
    }
    return staged.error();
  }
  if (*staged) return Next::kDone;
  // A link expired: fresh links from the status URL, or a new export.
  if (refresh >= kMaxLinkRefreshes) {
    return base::MakeError(base::ErrorKind::kTransient, Describe(w) + ": file links kept expiring");
  }
  FM_ASSIGN_OR_RETURN(bool fresh, RefreshLinks(w));
  if (!fresh) {
    Note("warn", Describe(w) +
                     ": file links expired and the status URL is gone; exporting "
                     "the window again");
    FM_TRY_STATUS(Forget(w, "file links expired, status URL gone"));
    return Next::kRestartExport;
  }
  return Next::kDone;
}

base::Status BulkExtractor::FinishStaging(const store::Window& w) {
  FM_TRY_STATUS(RecordErrorsAndDeletions(w));
  if (options_.stage_only && options_.passthrough) {
    // The destination reads the source's export URLs: mark them staged, keep
    // the job (a DELETE of its status URL may delete the files).
    FM_ASSIGN_OR_RETURN(auto outputs, store_.ListFiles(w.id));
    FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
      for (auto f : outputs) {
        if (f.kind != "output" || f.status != store::FileStatus::kPending) continue;
        f.status = store::FileStatus::kStaged;
        f.lines = std::max<int64_t>(f.expected_count, 0);
        FM_TRY_STATUS(store_.UpdateFile(f));
      }
      return base::Ok();
    }));
  }
  if (options_.delete_status_url && !w.export_url.empty() &&
      !(options_.stage_only && options_.passthrough)) {
    FM_ASSIGN_OR_RETURN(auto jobs, store_.ListJobs(w.id));
    bool deleted = false;
    for (const auto& job : jobs) {
      if (job.status_url == w.export_url && job.status == "cancelled") deleted = true;
    }
    if (!deleted) {
      if (auto s = client_.Delete(w.export_url); !s.ok()) {
        Note("warn", Describe(w) + ": DELETE of the status URL failed: " + s.error().message);
      } else {
        FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
          for (auto job : jobs) {
            if (job.status_url != w.export_url) continue;
            job.status = "cancelled";  // deleted on the server once every file was staged
            job.updated_at = clock_.Now();
            FM_TRY_STATUS(store_.UpdateJob(job));
          }
          return base::Ok();
        }));
      }
    }
  }

  return base::Ok();
}

base::Status BulkExtractor::FollowServerClock(store::Window& w, const fhir::Manifest& m) {
  // Window bounds from the server's clock.
  if (m.transaction_time) {
    base::Instant end = *m.transaction_time + base::Millis(1);
    // Newest on its own timeline: windows of another type do not count
    // (all-type windows share every type's timeline).
    FM_ASSIGN_OR_RETURN(auto ends, store_.NewestWindows());
    bool newest = true;
    for (const auto& other : ends) {
      bool shared = w.resource_type.empty() || other.resource_type.empty() ||
                    other.resource_type == w.resource_type;
      if (shared && other.id != w.id && other.since >= w.till) newest = false;
    }
    if (end < w.till) {
      if (end <= w.since) {
        return base::MakeError(base::ErrorKind::kTransient,
                               Describe(w) + ": the source's transactionTime " +
                                   base::FormatInstant(*m.transaction_time) +
                                   " is before the window start (clock skew); retrying later");
      }
      // The export only covers lastUpdated <= transactionTime: shrink the
      // window to it and plan the rest as a window of its own.
      store::Window rest;
      rest.since = end;
      rest.till = w.till;
      rest.resource_type = w.resource_type;
      rest.updated_at = clock_.Now();
      FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
        w.till = end;
        FM_TRY_STATUS(store_.UpdateWindow(w));
        FM_TRY_STATUS(store_.AddWindow(rest));
        return base::Ok();
      }));
      Note("info", Describe(w) + ": shrunk to the export's transactionTime; [" +
                       base::FormatInstant(rest.since) + ", " + base::FormatInstant(rest.till) +
                       ") is a window of its own");
    } else if (newest && end > w.till && options_.upper_bound_param.empty()) {
      // The newest window without an upper bound really ends where the
      // server's snapshot ends (everything up to transactionTime); the next
      // plan continues from there. Older windows keep their till and leave
      // later resources to the windows they belong to.
      w.till = end;
      FM_TRY_STATUS(store_.UpdateWindow(w));
      Note("info", Describe(w) + ": ends at the export's transactionTime (no upper bound)");
    }
  }
  return base::Ok();
}

base::Result<BulkExtractor::Next> BulkExtractor::DownloadAndLoad(
    store::Window& w, bool requires_token, ResourceConsumer& out,
    std::map<std::string, int64_t>& counts) {
  w.status = store::WindowStatus::kLoading;
  w.updated_at = clock_.Now();
  FM_TRY_STATUS(store_.UpdateWindow(w));
  // Files load in manifest order, each as soon as it is staged, while the
  // later ones download; a file staged by an earlier attempt loads at once.
  for (int refresh = 0;; ++refresh) {
    // Between the downloading thread and this one, which loads.
    struct {
      base::Mutex mu;
      std::condition_variable cv;
      // Staged by this round's downloads.
      std::map<int64_t, store::FileRecord> ready FM_GUARDED_BY(mu);
      bool downloads_done FM_GUARDED_BY(mu) = false;
      base::Result<bool> staged FM_GUARDED_BY(mu) = false;
    } pipe;
    std::atomic<bool> stop{false};
    std::thread downloader([&] {
      auto result = DownloadAll(
          w, requires_token,
          [&](const store::FileRecord& f) {
            base::MutexLock lock(pipe.mu);
            pipe.ready[f.id] = f;
            pipe.cv.notify_all();
          },
          &stop);
      // Every file staged: errors and deletions recorded, the job DELETEd,
      // while the loads go on.
      if (result.ok() && *result) {
        if (auto s = FinishStaging(w); !s.ok()) result = s.error();
      }
      base::MutexLock lock(pipe.mu);
      pipe.staged = std::move(result);
      pipe.downloads_done = true;
      pipe.cv.notify_all();
    });
    base::Status loaded = [&]() -> base::Status {
      if (!options_.pipeline) {  // bulk.pipeline = false: every file staged first
        base::MutexLock lock(pipe.mu);
        while (!pipe.downloads_done) lock.Wait(pipe.cv);
      }
      FM_ASSIGN_OR_RETURN(auto files, store_.ListFiles(w.id));
      for (auto& f : files) {
        if (f.kind != "output" || f.status == store::FileStatus::kLoaded) continue;
        if (clock_.Interrupted()) return Cancelled();
        bool staged_before =
            (f.status == store::FileStatus::kStaged || f.status == store::FileStatus::kLoading) &&
            fs_.Exists(f.staged_path);
        if (!staged_before) {
          base::MutexLock lock(pipe.mu);
          while (!pipe.ready.count(f.id) && !pipe.downloads_done) lock.Wait(pipe.cv);
          auto it = pipe.ready.find(f.id);
          if (it == pipe.ready.end()) return base::Ok();  // not staged this round
          f = it->second;
        }
        FM_TRY_STATUS(LoadFile(w, f, out, counts));
      }
      return base::Ok();
    }();
    if (!loaded.ok()) stop = true;
    downloader.join();
    if (!loaded.ok()) return loaded.error();
    base::Result<bool> staged = false;
    {
      base::MutexLock lock(pipe.mu);
      staged = std::move(pipe.staged);
    }
    FM_ASSIGN_OR_RETURN(auto next, AfterDownloads(w, staged, refresh));
    if (next == Next::kRestartExport) return next;
    if (*staged) return Next::kDone;
  }
}

}  // namespace fm::migrate
