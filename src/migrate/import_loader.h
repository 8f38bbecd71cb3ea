// Loads a window's staged export files into the destination with `$import`
// (docs/import-and-staging.md). Every import job is recorded in the state
// store (JobRecord kind "import") before it is polled, so a rerun after a
// crash polls the stored job and sends no second `$import` for its files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "env/clock.h"
#include "fhir/bulk_import.h"
#include "migrate/progress.h"
#include "migrate/window_loader.h"
#include "stage/azure_blob.h"
#include "stage/file_server.h"
#include "store/state_store.h"

namespace fm::migrate {

// Makes a staged file readable by the destination; returns the URL `$import`
// gets. Called again after a restart for files whose job was not yet sent.
class ImportStager {
 public:
  virtual ~ImportStager() = default;
  virtual base::Result<std::string> Stage(const store::FileRecord& file) = 0;
  // Whether Stage() hands out a new URL every time. A destination that
  // deduplicates identical `$import` requests (Microsoft's FHIR server matches
  // job definitions, finished and failed jobs included) answers a retry with
  // the same URLs with the old job; passthrough cannot mint new URLs, so a
  // failed import makes the window export again.
  virtual bool FreshUrls() const { return true; }
};

// passthrough: the source's export URL (FileRecord::url).
std::unique_ptr<ImportStager> NewPassthroughStager();
// local + serve: FileRecord::staged_path registered with the tool's file server.
std::unique_ptr<ImportStager> NewServeStager(stage::FileServer& server);
// azure-blob: FileRecord::staged_path uploaded as "<window>/<Type>-<file id>.ndjson",
// handed over as a read-only SAS URL.
std::unique_ptr<ImportStager> NewAzureBlobStager(stage::AzureBlobClient& client);

struct ImportWindowResult {
  std::map<std::string, int64_t> loaded;  // per type
  int64_t errors = 0;                     // resources refused (in the failures table)
  int jobs = 0;                           // import jobs completed in this call
};

// Every job is logged at info level through the sink's notes: its kick-off
// (status URL with secrets redacted, inputs), its progress (X-Progress, when
// it changes) and its result (imported per type, refused); the resources it
// imported or refused are progress events too.
class ImportWindowLoader : public WindowLoader {
 public:
  ImportWindowLoader(store::StateStore& store, fhir::BulkImporter& importer, ImportStager& stager,
                     env::Clock& clock, ProgressSink& sink);

  // Imports every "output" file of the window that no import job covers yet,
  // resumes the window's running jobs, records refused resources in the
  // failures table and loaded counts per type, and fails (kInvalidData) when
  // the counts fall short of the export's counts without matching errors.
  // When a job fell short or failed and the stager cannot mint new URLs, the
  // window's export is forgotten so that its next attempt exports again.
  base::Result<ImportWindowResult> LoadWindow(int64_t window_id);

  // WindowLoader: LoadWindow(window.id) as totals (counts are in the store).
  base::Result<LoadTotals> LoadWindow(const store::Window& window) override;

  // Called with the source's export status URL once the destination no
  // longer reads that job's files: passthrough staging (the stager mints no
  // URLs of its own) after the window's imports completed, or when its export
  // is forgotten to be done again. `run` DELETEs the job there (best effort);
  // other stagers hold copies, and the extractor deleted the job after staging.
  void SetExportReleaser(std::function<void(const std::string& status_url)> release) {
    release_ = std::move(release);
  }

 private:
  // LoadWindow; sets `job_failed` when an import job fell short or failed.
  base::Result<ImportWindowResult> ImportFiles(int64_t window_id, bool& job_failed);
  // Clears the window's export (URL, manifest, files) so the next attempt
  // exports it again; the export job is recorded as failed with `why`.
  base::Status ForgetExport(int64_t window_id, const std::string& why);
  // Hands the window's export status URL to the releaser, if there is one.
  void ReleaseExport(int64_t window_id);

  store::StateStore& store_;
  fhir::BulkImporter& importer_;
  ImportStager& stager_;
  env::Clock& clock_;
  ProgressSink& sink_;
  std::function<void(const std::string&)> release_;
};

}  // namespace fm::migrate
