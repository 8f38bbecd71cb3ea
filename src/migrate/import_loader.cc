#include "migrate/import_loader.h"

#include <nlohmann/json.hpp>
#include <set>

#include "base/strings.h"
#include "json/canonical.h"

namespace fm::migrate {
namespace {

using nlohmann::json;

constexpr base::Millis kProgressEvery{10'000};  // import progress lines per job, at most

class PassthroughStager : public ImportStager {
 public:
  base::Result<std::string> Stage(const store::FileRecord& file) override {
    if (file.url.empty()) {
      return base::MakeError(base::ErrorKind::kFatal, "passthrough staging: file " +
                                                          std::to_string(file.id) + " has no URL");
    }
    return file.url;
  }
  bool FreshUrls() const override { return false; }
};

class ServeStager : public ImportStager {
 public:
  explicit ServeStager(stage::FileServer& server) : server_(server) {}
  base::Result<std::string> Stage(const store::FileRecord& file) override {
    if (file.staged_path.empty()) {
      return base::MakeError(
          base::ErrorKind::kFatal,
          "serve staging: file " + std::to_string(file.id) + " is not staged locally");
    }
    return server_.Register(file.staged_path);
  }

 private:
  stage::FileServer& server_;
};

class AzureBlobStager : public ImportStager {
 public:
  explicit AzureBlobStager(stage::AzureBlobClient& client) : client_(client) {}
  base::Result<std::string> Stage(const store::FileRecord& file) override {
    if (!container_ready_) {
      FM_TRY_STATUS(client_.CreateContainerIfMissing());
      container_ready_ = true;
    }
    std::string name = "w" + std::to_string(file.window_id) + "/" + file.resource_type + "-" +
                       std::to_string(file.id) + ".ndjson";
    FM_TRY_STATUS(client_.UploadFile(file.staged_path, name));
    return client_.ReadSasUrl(name);
  }

 private:
  stage::AzureBlobClient& client_;
  bool container_ready_ = false;
};

// The inputs of a job as stored in JobRecord::result_json: file ids, types
// and a hash of each URL (a SAS URL is a credential: never stored).
json InputsJson(const std::vector<fhir::ImportInput>& inputs,
                const std::map<std::string, int64_t>& file_of) {
  json a = json::array();
  for (const auto& in : inputs) {
    a.push_back({{"file_id", file_of.at(in.url)},
                 {"type", in.type},
                 {"url_sha256", fm::json::Sha256Hex(in.url)}});
  }
  return a;
}

// "3 files (Observation 2, Patient 1)".
std::string DescribeInputs(const std::vector<fhir::ImportInput>& inputs) {
  std::map<std::string, int> by_type;
  for (const auto& in : inputs) ++by_type[in.type];
  std::vector<std::string> parts;
  for (const auto& [type, n] : by_type) parts.push_back(type + " " + std::to_string(n));
  return std::to_string(inputs.size()) + (inputs.size() == 1 ? " file" : " files") + " (" +
         base::Join(parts, ", ") + ")";
}

// "600 resources imported (Observation 500, Patient 100)".
std::string DescribeImported(const std::map<std::string, int64_t>& by_type) {
  int64_t total = 0;
  std::vector<std::string> parts;
  for (const auto& [type, n] : by_type) {
    total += n;
    parts.push_back(type + " " + std::to_string(n));
  }
  return std::to_string(total) + " resources imported" +
         (parts.empty() ? "" : " (" + base::Join(parts, ", ") + ")");
}

}  // namespace

std::unique_ptr<ImportStager> NewPassthroughStager() {
  return std::make_unique<PassthroughStager>();
}
std::unique_ptr<ImportStager> NewServeStager(stage::FileServer& server) {
  return std::make_unique<ServeStager>(server);
}
std::unique_ptr<ImportStager> NewAzureBlobStager(stage::AzureBlobClient& client) {
  return std::make_unique<AzureBlobStager>(client);
}

ImportWindowLoader::ImportWindowLoader(store::StateStore& store, fhir::BulkImporter& importer,
                                       ImportStager& stager, env::Clock& clock, ProgressSink& sink)
    : store_(store), importer_(importer), stager_(stager), clock_(clock), sink_(sink) {}

base::Result<ImportWindowResult> ImportWindowLoader::LoadWindow(int64_t window_id) {
  bool job_failed = false;
  auto result = ImportFiles(window_id, job_failed);
  if (stager_.FreshUrls()) return result;
  if (job_failed) {
    std::string why = result.ok() ? "an import job failed" : result.error().message;
    ReleaseExport(window_id);
    FM_TRY_STATUS(
        ForgetExport(window_id, "import failed; exporting again for new file URLs: " + why));
  } else if (result.ok()) {
    ReleaseExport(window_id);  // every file was imported: the source's job is done with
  }
  return result;
}

void ImportWindowLoader::ReleaseExport(int64_t window_id) {
  if (!release_) return;
  auto w = store_.GetWindow(window_id);
  if (w.ok() && !w->export_url.empty()) release_(w->export_url);
}

base::Status ImportWindowLoader::ForgetExport(int64_t window_id, const std::string& why) {
  FM_TRY_STATUS(store::ForgetExport(store_, window_id, why, clock_.Now()));
  return base::Ok();
}

base::Result<ImportWindowResult> ImportWindowLoader::ImportFiles(int64_t window_id,
                                                                 bool& job_failed) {
  FM_ASSIGN_OR_RETURN(std::vector<store::FileRecord> files, store_.ListFiles(window_id));
  FM_ASSIGN_OR_RETURN(std::vector<store::JobRecord> jobs, store_.ListJobs(window_id));
  std::map<int64_t, store::FileRecord> by_id;
  for (const auto& f : files) {
    if (f.kind == "output") by_id[f.id] = f;
  }

  // Files covered by an earlier job; running jobs are resumed.
  std::set<int64_t> covered;
  std::set<int64_t> resumed_files;  // covered by a running job
  std::vector<fhir::BulkImporter::Kicked> resume;
  std::map<std::string, store::JobRecord> job_of_url;  // status_url → record
  // url hash → file id, for every job (old and new).
  std::map<std::string, int64_t> file_of_hash;
  for (const auto& j : jobs) {
    if (j.kind != "import") continue;
    json stored = json::parse(j.result_json, nullptr, false);
    if (!stored.is_object() || !stored.contains("inputs")) continue;
    if (j.status == "failed" || j.status == "cancelled") continue;
    fhir::BulkImporter::Kicked k{j.status_url, {}};
    for (const auto& in : stored["inputs"]) {
      int64_t id = in.value("file_id", int64_t{0});
      covered.insert(id);
      file_of_hash[in.value("url_sha256", "")] = id;
      k.inputs.push_back({in.value("type", ""), "", ""});
    }
    if (j.status == "running") {
      for (const auto& in : stored["inputs"]) resumed_files.insert(in.value("file_id", int64_t{0}));
      resume.push_back(std::move(k));
      job_of_url[j.status_url] = j;
    }
  }

  std::vector<fhir::ImportInput> inputs;
  std::map<std::string, int64_t> file_of_url;
  for (auto& [id, f] : by_id) {
    if (covered.count(id)) continue;
    FM_ASSIGN_OR_RETURN(std::string url, stager_.Stage(f));
    inputs.push_back({f.resource_type, url, ""});
    file_of_url[url] = id;
    file_of_hash[fm::json::Sha256Hex(url)] = id;
  }

  // What this call imports or waits for: files not covered by a finished job.
  int64_t expected = 0;
  for (const auto& [id, f] : by_id) {
    if (covered.count(id) && !resumed_files.count(id)) continue;
    expected = f.expected_count < 0 || expected < 0 ? -1 : expected + f.expected_count;
  }
  sink_.OnWindowStage(window_id, WindowStage::kImporting, expected);
  for (const auto& k : resume) {
    sink_.OnNote("info", "$import job " + base::RedactUrl(k.status_url) +
                             " resumed: " + std::to_string(k.inputs.size()) +
                             (k.inputs.size() == 1 ? " file" : " files"));
  }

  ImportWindowResult out;
  std::vector<std::string> problems;
  fhir::BulkImporter::Hooks hooks;
  hooks.on_kicked = [&](const fhir::BulkImporter::Kicked& k) -> base::Status {
    store::JobRecord job;
    job.kind = "import";
    job.window_id = window_id;
    job.server = "destination";
    job.status_url = k.status_url;
    job.status = "running";
    job.request_fingerprint = fhir::ImportFingerprint(k.inputs, importer_.options().mode);
    job.result_json = json({{"inputs", InputsJson(k.inputs, file_of_url)}}).dump();
    job.created_at = job.updated_at = clock_.Now();
    FM_ASSIGN_OR_RETURN(job.id, store_.AddJob(job));
    job_of_url[k.status_url] = job;
    sink_.OnNote("info", "$import job " + base::RedactUrl(k.status_url) +
                             " kicked off: " + DescribeInputs(k.inputs) + ", mode " +
                             fhir::ImportModeName(importer_.options().mode));
    return base::Ok();
  };
  // Progress is logged when it changes, at most every kProgressEvery per job.
  struct Logged {
    std::string progress;
    base::Instant at;
  };
  std::map<std::string, Logged> last_progress;  // status URL → what was logged last
  hooks.on_polled = [&](const fhir::BulkImporter::Kicked& k, const fhir::ImportPoll& poll) {
    std::string progress = poll.progress.empty() ? "running" : poll.progress;
    base::Instant now = clock_.Now();
    auto [it, fresh] = last_progress.try_emplace(k.status_url, Logged{progress, now});
    if (!fresh) {
      if (it->second.progress == progress || now - it->second.at < kProgressEvery) return;
      it->second = {progress, now};
    }
    sink_.OnNote("info", "$import job " + base::RedactUrl(k.status_url) + ": " + progress);
  };
  hooks.on_done = [&](const fhir::BulkImporter::Kicked& k,
                      const fhir::ImportResult& result) -> base::Status {
    FM_ASSIGN_OR_RETURN(std::vector<fhir::ImportLineError> errors, importer_.ReadErrors(result));
    store::JobRecord job = job_of_url[k.status_url];
    json stored = json::parse(job.result_json, nullptr, false);
    json inputs_json =
        stored.is_object() && stored.contains("inputs") ? stored["inputs"] : json::array();
    // This job's counts against the export's: output entries are matched to
    // files by URL hash (resumed jobs know their files only by id and hash).
    std::map<int64_t, int64_t> loaded_of, errors_of;
    for (const auto& o : result.output) {
      auto it = file_of_hash.find(fm::json::Sha256Hex(o.input_url));
      if (it != file_of_hash.end()) loaded_of[it->second] += o.count;
    }
    for (const auto& e : result.error) {
      auto it = file_of_hash.find(fm::json::Sha256Hex(e.input_url));
      if (it != file_of_hash.end()) errors_of[it->second] += e.count;
    }
    fhir::ImportResult keyed;
    std::vector<fhir::ImportExpectation> expectations;
    for (const auto& in : inputs_json) {
      int64_t id = in.value("file_id", int64_t{0});
      if (!by_id.count(id)) continue;
      std::string key = std::to_string(id);
      if (loaded_of.count(id))
        keyed.output.push_back({by_id[id].resource_type, loaded_of[id], key});
      if (errors_of.count(id)) keyed.error.push_back({"OperationOutcome", errors_of[id], key, ""});
      expectations.push_back({key, by_id[id].resource_type + " file", by_id[id].expected_count});
    }
    auto cmp = fhir::CompareImportCounts(expectations, keyed);
    problems.insert(problems.end(), cmp.problems.begin(), cmp.problems.end());
    std::map<std::string, store::TypeCounts> counts;
    std::vector<store::Failure> refused;
    FM_TRY_STATUS(store_.Transaction([&]() -> base::Status {
      counts.clear();
      refused.clear();
      for (const auto& o : result.output) {
        auto it = file_of_hash.find(fm::json::Sha256Hex(o.input_url));
        std::string type = o.type;
        if (it != file_of_hash.end() && by_id.count(it->second)) {
          store::FileRecord f = by_id[it->second];
          type = f.resource_type;
          f.lines_loaded = o.count;
          f.status = store::FileStatus::kLoaded;
          FM_TRY_STATUS(store_.UpdateFile(f));
        }
        counts[type].resource_type = type;
        counts[type].loaded += o.count;
      }
      for (const auto& e : errors) {
        auto it = file_of_hash.find(fm::json::Sha256Hex(e.input_url));
        const store::FileRecord* f =
            it != file_of_hash.end() && by_id.count(it->second) ? &by_id[it->second] : nullptr;
        store::Failure failure;
        failure.window_id = window_id;
        failure.stage = "import";
        failure.resource_type = f ? f->resource_type : e.resource_type;
        failure.reason = e.diagnostics;
        failure.outcome_json = e.outcome_json;
        std::string where = f ? (f->staged_path.empty() ? base::RedactUrl(f->url) : f->staged_path)
                              : base::RedactUrl(e.input_url);
        failure.body_location = e.line > 0 ? where + ":" + std::to_string(e.line) : where;
        failure.at = clock_.Now();
        FM_TRY_STATUS(store_.AddFailure(failure));
        counts[failure.resource_type].resource_type = failure.resource_type;
        counts[failure.resource_type].failed++;
        refused.push_back(std::move(failure));
      }
      for (const auto& [type, c] : counts) FM_TRY_STATUS(store_.AddCounts(window_id, c));
      // A short job is "failed": a retry of the window imports its files again.
      job.status = cmp.ok() ? "done" : "failed";
      if (!cmp.ok()) job_failed = true;
      job.updated_at = clock_.Now();
      json summary = {{"inputs", inputs_json},
                      {"transactionTime", result.transaction_time},
                      {"loaded", result.output.size()},
                      {"error_files", result.error.size()},
                      {"problems", cmp.problems}};
      job.result_json = summary.dump();
      return store_.UpdateJob(job);
    }));
    out.jobs++;
    std::map<std::string, int64_t> imported;
    for (const auto& [type, c] : counts) {
      if (c.loaded > 0) imported[type] = c.loaded;
      out.loaded[type] += c.loaded;
      if (c.loaded > 0 || c.failed > 0) {
        sink_.OnBatchLoaded(BatchEvent{window_id, type, c.loaded, c.failed});
      }
    }
    out.errors += static_cast<int64_t>(refused.size());
    for (const auto& f : refused) sink_.OnResourceFailed(f);
    std::string shown = base::RedactUrl(k.status_url);
    sink_.OnNote("info", "$import job " + shown + " done: " + DescribeImported(imported) + ", " +
                             std::to_string(refused.size()) + " refused" +
                             (refused.empty() ? "" : " (in failures, stage import)"));
    if (!cmp.ok()) {
      sink_.OnNote("warn",
                   "$import job " + shown + " fell short: " + base::Join(cmp.problems, "; "));
    }
    return base::Ok();
  };

  hooks.on_failed = [&](const fhir::BulkImporter::Kicked& k, const base::Error& error) {
    // The server lost or failed the job: a retry of the window sends its files again.
    job_failed = true;
    sink_.OnNote("warn",
                 "$import job " + base::RedactUrl(k.status_url) + " failed: " + error.message);
    auto it = job_of_url.find(k.status_url);
    if (it == job_of_url.end()) return;
    store::JobRecord job = it->second;
    job.status = "failed";
    job.updated_at = clock_.Now();
    json stored = json::parse(job.result_json, nullptr, false);
    if (stored.is_object()) {
      stored["error"] = error.ToString();
      job.result_json = stored.dump();
    }
    (void)store_.UpdateJob(job);  // best effort: the window fails either way
  };
  FM_ASSIGN_OR_RETURN(auto done, importer_.Run(inputs, resume, hooks));
  (void)done;

  if (!problems.empty()) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           "import of window " + std::to_string(window_id) +
                               " fell short: " + base::Join(problems, "; "));
  }
  return out;
}

base::Result<LoadTotals> ImportWindowLoader::LoadWindow(const store::Window& window) {
  FM_ASSIGN_OR_RETURN(ImportWindowResult r, LoadWindow(window.id));
  LoadTotals totals;
  for (const auto& [type, n] : r.loaded) totals.loaded += n;
  totals.failed = r.errors;
  return totals;
}

}  // namespace fm::migrate
