// Bulk download + staging, the tool's side of bench/bulk_download.sh: runs
// fhir-migrate's real BulkExtractor (stage only, N files in parallel, line
// counting against the manifest, files 0600 in the staging directory, every
// step recorded in a real SQLite state store) on an export job that is already
// complete, so the figure is the download and staging alone. The job is
// resumed from its status URL, as after a restart; it is not deleted, so the
// baseline can fetch the same files.
//
//   bulk_download BASE_URL STATUS_URL STAGING_DIR [PARALLEL=8]
//
// Prints one line: "resources=N bytes=B". bulk_download.sh times the whole
// process, as it times the curl baseline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "env/clock.h"
#include "env/file_system.h"
#include "fhir/bulk_export.h"
#include "http/transport.h"
#include "migrate/bulk_extractor.h"
#include "migrate/progress.h"
#include "store/state_store.h"

namespace {

using namespace fm;

// Stage-only extraction streams nothing; a resource arriving here is a bug.
class RefusingConsumer : public migrate::ResourceConsumer {
 public:
  base::Status Consume(migrate::Resource) override {
    return base::MakeError(base::ErrorKind::kFatal, "stage-only extraction produced a resource");
  }
};

int Fail(const std::string& what, const base::Error& e) {
  std::fprintf(stderr, "bulk_download: %s: %s\n", what.c_str(), e.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BASE_URL STATUS_URL STAGING_DIR [PARALLEL=8]\n", argv[0]);
    return 2;
  }
  const std::string base_url = argv[1], status_url = argv[2], staging = argv[3];
  const int parallel = argc > 4 ? std::max(1, std::atoi(argv[4])) : 8;

  auto store = store::OpenSqliteStateStore({staging + "/state.db"});
  if (!store.ok()) return Fail("state store", store.error());
  auto clock = env::NewSystemClock();
  auto fs = env::NewPosixFileSystem();
  auto transport = http::NewCurlTransport(http::CurlOptions{});
  fhir::BulkExportClient client("source", base_url, *transport, *clock, fhir::PollOptions{});
  migrate::BulkOptions options;
  options.parallel_downloads = parallel;
  options.stage_only = true;
  options.keep_files = true;
  options.delete_status_url = false;
  migrate::ProgressSink sink;
  migrate::BulkExtractor extractor(client, **store, *fs, *clock, options, staging + "/files", sink);

  store::Window window;
  window.since = base::Instant{};
  window.till = clock->Now() + std::chrono::hours(24);
  auto id = (*store)->AddWindow(window);
  if (!id.ok()) return Fail("window", id.error());
  window.id = *id;
  window.export_url = status_url;  // resume the finished job: no kick-off
  if (auto s = (*store)->UpdateWindow(window); !s.ok()) return Fail("window", s.error());

  RefusingConsumer consumer;
  auto counts = extractor.ExtractWindow(window, {}, consumer);
  if (!counts.ok()) return Fail("extract", counts.error());

  auto files = (*store)->ListFiles(window.id);
  if (!files.ok()) return Fail("files", files.error());
  int64_t lines = 0, bytes = 0;
  for (const auto& f : *files) {
    if (f.kind != "output") continue;
    if (f.status != store::FileStatus::kStaged) {
      std::fprintf(stderr, "bulk_download: %s was not staged\n", f.url.c_str());
      return 1;
    }
    lines += f.lines;
    bytes += f.bytes;
  }
  if (lines == 0) {
    std::fprintf(stderr, "bulk_download: the manifest listed no resources\n");
    return 1;
  }
  std::printf("resources=%lld bytes=%lld\n", static_cast<long long>(lines),
              static_cast<long long>(bytes));
  return 0;
}
