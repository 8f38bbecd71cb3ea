// Extracts a window with Bulk Data $export: kick-off, polling, manifest,
// parallel streamed downloads to a staging directory, then loading from the
// staged files. Every step is recorded in the state store first:
//
//   kick-off acknowledged  → windows.export_url + a jobs row (one transaction,
//                            before the first poll); a restart polls that URL
//                            again and kicks off anew only when the status URL
//                            answers 404/410 (the job is dead)
//   manifest               → windows.manifest_json + transaction_time, one
//                            files row per output/error/deleted file, job done
//   file staged            → files.status = staged, bytes, lines (checked
//                            against the manifest count)
//   file loaded            → files.status = loaded, lines_loaded = lines, only
//                            after the consumer drained (every line acknowledged)
//
// Window bounds follow the server's clock: resources outside [since, till)
// are left to the windows they belong to; when the newest window's export
// holds resources past `till` (the server ignores the upper bound, or
// bulk.upper_bound_param = none), the window is extended to
// transactionTime + 1 ms and the planner continues from there; when the
// server's transactionTime is before `till`, the window is shrunk to it and a
// new window covers the rest. Windows stay contiguous and non-overlapping.
// A window of one resource type (per-type mode) exports that type alone
// (`_type`); "newest" then means the newest of its type, and the rest window
// has its type, so other types' timelines are never moved.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "env/clock.h"
#include "env/file_system.h"
#include "fhir/bulk_export.h"
#include "migrate/extractor.h"
#include "migrate/options.h"
#include "migrate/progress.h"
#include "store/state_store.h"

namespace fm::migrate {

class BulkExtractor : public Extractor {
 public:
  // `staging_dir` must be resolved (not empty).
  BulkExtractor(fhir::BulkExportClient& client, store::StateStore& store, env::FileSystem& fs,
                env::Clock& clock, const BulkOptions& options, std::string staging_dir,
                ProgressSink& sink);

  base::Result<std::map<std::string, int64_t>> ExtractWindow(store::Window& window,
                                                             const std::vector<std::string>& types,
                                                             ResourceConsumer& out) override;

 private:
  enum class Next { kDone, kRestartExport };
  base::Result<Next> Attempt(store::Window& w, const std::vector<std::string>& types,
                             ResourceConsumer& out, std::map<std::string, int64_t>& counts);
  base::Status KickOff(store::Window& w, const std::vector<std::string>& types);
  base::Status Forget(store::Window& w, const std::string& why);
  // DELETEs an export job whose files will not be read again, so it holds no
  // storage on the source (best effort; bulk.delete_status_url = false keeps it).
  void Abandon(const store::Window& w);
  // A job that failed for good: Abandon, Forget, and the error to fail with.
  base::Error FailedForGood(store::Window& w, const base::Error& failed);
  base::Status RecordManifest(store::Window& w, const fhir::PollResult& poll);
  base::Result<bool> RefreshLinks(store::Window& w);
  // Downloads every file not staged yet, `parallel_downloads` at a time, in
  // manifest order; `on_staged` hears of each file once it is staged (from a
  // download thread). Returns false when a link expired; stops taking new
  // files once `stop` is set.
  base::Result<bool> DownloadAll(
      store::Window& w, bool requires_token,
      const std::function<void(const store::FileRecord&)>& on_staged = nullptr,
      const std::atomic<bool>* stop = nullptr);
  // After a round of downloads: an untrustworthy job is abandoned and
  // forgotten (error), expired links are refreshed (kDone: download again) or
  // the window is exported again (kRestartExport).
  base::Result<Next> AfterDownloads(store::Window& w, const base::Result<bool>& staged,
                                    int refresh);
  // Every file is staged: error[] and deleted[] recorded, passthrough files
  // marked, the status URL DELETEd (bulk.delete_status_url).
  base::Status FinishStaging(const store::Window& w);
  // Window bounds from the server's clock (transactionTime): shrink, or
  // extend the newest window when there is no upper bound.
  base::Status FollowServerClock(store::Window& w, const fhir::Manifest& m);
  // Tells the sink the window is downloading, and what is left to load.
  base::Status AnnounceDownloads(const store::Window& w);
  // REST loading: loads each file as soon as it is staged, in manifest order,
  // while the later ones download.
  base::Result<Next> DownloadAndLoad(store::Window& w, bool requires_token, ResourceConsumer& out,
                                     std::map<std::string, int64_t>& counts);
  base::Status DownloadOne(store::FileRecord& file, bool requires_token, bool& expired);
  base::Status RecordErrorsAndDeletions(const store::Window& w);
  base::Status LoadFile(store::Window& w, store::FileRecord& file, ResourceConsumer& out,
                        std::map<std::string, int64_t>& counts);
  std::string WindowDir(int64_t window_id) const;
  void Note(const std::string& level, const std::string& message);

  fhir::BulkExportClient& client_;
  store::StateStore& store_;
  env::FileSystem& fs_;
  env::Clock& clock_;
  BulkOptions options_;
  std::string staging_dir_;
  ProgressSink& sink_;
};

// The $export request options of the engine's bulk options.
fhir::ExportRequestOptions ExportRequestFrom(const BulkOptions& options);

}  // namespace fm::migrate
