#include "migrate/import_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "http/fake_transport.h"
#include "json/canonical.h"

namespace fm::migrate {
namespace {

using nlohmann::json;

http::Response Resp(int status, std::string body = "", http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

const char* kOutcome =
    R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"Failed to process resource at line: 4 of x: invalid JSON"}]})";

// A stager that hands out a new URL for every attempt (serve, azure-blob);
// here the file's own URL, so the fake destination's answers match it.
class FreshUrlStager : public ImportStager {
 public:
  base::Result<std::string> Stage(const store::FileRecord& file) override { return file.url; }
};

// Keeps the notes and the counts the loader reports.
class RecordingSink : public ProgressSink {
 public:
  void OnNote(const std::string& level, const std::string& message) override {
    notes.push_back(level + ": " + message);
  }
  void OnBatchLoaded(const BatchEvent& e) override {
    loaded += e.loaded;
    failed += e.failed;
  }
  void OnResourceFailed(const store::Failure&) override { ++failures; }
  void OnWindowStage(int64_t, WindowStage stage, int64_t n) override {
    stages.push_back(std::string(WindowStageName(stage)) + " " + std::to_string(n));
  }
  std::string Notes() const {
    std::string all;
    for (const auto& n : notes) all += n + "\n";
    return all;
  }
  std::vector<std::string> notes, stages;
  int64_t loaded = 0, failed = 0, failures = 0;
};

class ImportLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = ::testing::TempDir() + "/fm_import_loader_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    std::remove(path.c_str());
    auto s = store::OpenSqliteStateStore({path, false});
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    st = std::move(s).value();
    store::Window w;
    w.since = base::FromEpochMillis(0);
    w.till = base::FromEpochMillis(1000);
    w.updated_at = base::FromEpochMillis(1);
    window = *st->AddWindow(w);
    for (auto [type, count] :
         std::vector<std::pair<std::string, int64_t>>{{"Patient", 10}, {"Observation", 5}}) {
      store::FileRecord f;
      f.window_id = window;
      f.resource_type = type;
      f.url = "http://src/files/" + type + ".ndjson";
      f.staged_path = "/staging/" + type + ".ndjson";
      f.expected_count = count;
      f.status = store::FileStatus::kStaged;
      ASSERT_TRUE(st->AddFile(f).ok());
    }
  }
  void TearDown() override { std::remove(path.c_str()); }

  // A destination: every job finishes with `observations_loaded` Observations
  // and one error file for them.
  base::Result<http::Response> Destination(const http::Request& r) {
    if (r.method == "POST") {
      ++kickoffs;
      return Resp(202, "", {{"Content-Location", job_url}});
    }
    if (r.url == "http://dest/fhir/errors/1.ndjson") {
      return http::DeliverBody(r, Resp(200, std::string(kOutcome) + "\n"));
    }
    if (lose_jobs)
      return Resp(
          404,
          R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Unknown import job"}]})");
    ++polls;
    if (polls <= 2) {
      return Resp(202, "",
                  {{"Retry-After", "1"}, {"X-Progress", "importing: 3 resources imported"}});
    }
    json body = {
        {"transactionTime", "2024-01-01T00:00:00Z"},
        {"output",
         {{{"type", "Patient"}, {"count", 10}, {"inputUrl", "http://src/files/Patient.ndjson"}},
          {{"type", "Observation"},
           {"count", observations_loaded},
           {"inputUrl", "http://src/files/Observation.ndjson"}}}},
        {"error",
         {{{"type", "OperationOutcome"},
           {"count", 1},
           {"inputUrl", "http://src/files/Observation.ndjson"},
           {"url", "http://dest/fhir/errors/1.ndjson"}}}}};
    return Resp(200, body.dump());
  }

  std::string path;
  std::unique_ptr<store::StateStore> st;
  int64_t window = 0;
  int kickoffs = 0, polls = 0;
  int64_t observations_loaded = 4;
  bool lose_jobs = false;
  std::string job_url = "http://dest/fhir/_operations/import/1";
  RecordingSink sink;
  env::ManualClock clock{base::FromEpochMillis(1'700'000'000'000)};
  http::FakeTransport transport{[this](const http::Request& r) { return Destination(r); }};
  fhir::Client client{"destination", "http://dest/fhir", transport, clock};
  fhir::BulkImporter importer{client, clock, fhir::ImportOptions{}};
  std::unique_ptr<ImportStager> stager = NewPassthroughStager();
  FreshUrlStager fresh_stager;
};

TEST_F(ImportLoaderTest, ImportsRecordsTheJobFailuresAndCounts) {
  ImportWindowLoader loader(*st, importer, *stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->loaded["Patient"], 10);
  EXPECT_EQ(r->loaded["Observation"], 4);
  EXPECT_EQ(r->errors, 1);
  EXPECT_EQ(kickoffs, 1);
  auto jobs = *st->ListJobs(window);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind, "import");
  EXPECT_EQ(jobs[0].status, "done");
  EXPECT_EQ(jobs[0].status_url, "http://dest/fhir/_operations/import/1");
  EXPECT_EQ(jobs[0].result_json.find("http://src"), std::string::npos) << "URLs are stored hashed";
  auto failures = *st->ListFailures(true, 100);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].stage, "import");
  EXPECT_EQ(failures[0].resource_type, "Observation");
  EXPECT_EQ(failures[0].body_location, "/staging/Observation.ndjson:4");
  EXPECT_NE(failures[0].reason.find("invalid JSON"), std::string::npos);
  for (const auto& f : *st->ListFiles(window)) EXPECT_EQ(f.status, store::FileStatus::kLoaded);

  // A second call finds every file covered: nothing is sent.
  auto again = loader.LoadWindow(window);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(kickoffs, 1);
}

// Import jobs ran silently: a window waiting minutes on $import logged
// nothing at info level between "export complete" and "loaded", so an
// operator could not tell a slow import from a stuck one. Every job now logs
// its kick-off, its progress and its result.
TEST_F(ImportLoaderTest, EveryJobIsLoggedAtInfoLevelWithItsUrlRedacted) {
  job_url = "http://dest/fhir/_operations/import/1?sig=s3cret";
  ImportWindowLoader loader(*st, importer, fresh_stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  std::string notes = sink.Notes();
  ASSERT_EQ(sink.notes.size(), 3u) << notes;  // progress logged once: it did not change
  EXPECT_EQ(sink.notes[0],
            "info: $import job http://dest/fhir/_operations/import/1?sig=REDACTED kicked off: 2 "
            "files (Observation 1, Patient 1), mode IncrementalLoad");
  EXPECT_EQ(sink.notes[1],
            "info: $import job http://dest/fhir/_operations/import/1?sig=REDACTED: importing: 3 "
            "resources imported");
  EXPECT_EQ(
      sink.notes[2],
      "info: $import job http://dest/fhir/_operations/import/1?sig=REDACTED done: 14 "
      "resources imported (Observation 4, Patient 10), 1 refused (in failures, stage import)");
  EXPECT_EQ(notes.find("s3cret"), std::string::npos) << notes;
  EXPECT_EQ(sink.loaded, 14);
  EXPECT_EQ(sink.failed, 1);
  EXPECT_EQ(sink.failures, 1);
  EXPECT_EQ(sink.stages, std::vector<std::string>{"importing 15"});
}

TEST_F(ImportLoaderTest, ARunningJobIsPolledNotSentAgain) {
  // The first run kicked off and persisted the job, then died.
  {
    auto h = *st->ListFiles(window);
    json inputs = json::array();
    for (const auto& f : h) {
      inputs.push_back({{"file_id", f.id},
                        {"type", f.resource_type},
                        {"url_sha256", fm::json::Sha256Hex(f.url)}});
    }
    store::JobRecord job;
    job.kind = "import";
    job.window_id = window;
    job.server = "destination";
    job.status_url = "http://dest/fhir/_operations/import/1";
    job.result_json = json({{"inputs", inputs}}).dump();
    ASSERT_TRUE(st->AddJob(job).ok());
  }
  ImportWindowLoader loader(*st, importer, *stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(kickoffs, 0);
  EXPECT_EQ(r->loaded["Patient"], 10);
  EXPECT_EQ((*st->ListJobs(window))[0].status, "done");
}

TEST_F(ImportLoaderTest, AJobTheServerLostIsFailedAndSentAgainOnRetry) {
  lose_jobs = true;
  ImportWindowLoader loader(*st, importer, fresh_stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ((*st->ListJobs(window))[0].status, "failed");
  lose_jobs = false;
  auto retry = loader.LoadWindow(window);
  ASSERT_TRUE(retry.ok()) << retry.error().ToString();
  EXPECT_EQ(kickoffs, 2);
}

TEST_F(ImportLoaderTest, AShortfallWithoutErrorsFailsTheWindow) {
  observations_loaded = 2;  // 2 loaded + 1 error < 5 exported
  ImportWindowLoader loader(*st, importer, fresh_stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_NE(r.error().message.find("Observation"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("2 unaccounted"), std::string::npos) << r.error().message;
  EXPECT_EQ((*st->ListJobs(window))[0].status, "failed");
  // The retry of the window sends its files again.
  observations_loaded = 4;
  polls = 0;
  auto retry = loader.LoadWindow(window);
  ASSERT_TRUE(retry.ok()) << retry.error().ToString();
  EXPECT_EQ(kickoffs, 2);
}

// Passthrough inputs are the source's export URLs: a retry would send the
// very same $import, and a destination that deduplicates identical requests
// (Microsoft's FHIR server does, finished and failed jobs included) would
// answer with the short job again, forever. The window exports again instead.
TEST_F(ImportLoaderTest, WithPassthroughAFailedImportMakesTheWindowExportAgain) {
  store::Window w = *st->GetWindow(window);
  w.export_url = "http://src/fhir/$export-status/1";
  w.manifest_json = R"({"output":[]})";
  ASSERT_TRUE(st->UpdateWindow(w).ok());
  store::JobRecord exported;
  exported.kind = "export";
  exported.window_id = window;
  exported.server = "source";
  exported.status_url = w.export_url;
  exported.status = "done";
  ASSERT_TRUE(st->AddJob(exported).ok());
  observations_loaded = 2;
  ImportWindowLoader loader(*st, importer, *stager, clock, sink);
  auto r = loader.LoadWindow(window);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fell short"), std::string::npos) << r.error().message;
  w = *st->GetWindow(window);
  EXPECT_TRUE(w.export_url.empty());
  EXPECT_TRUE(w.manifest_json.empty());
  EXPECT_TRUE(st->ListFiles(window)->empty());
  for (const auto& job : *st->ListJobs(window)) {
    EXPECT_EQ(job.status, "failed") << job.kind;
  }
}

}  // namespace
}  // namespace fm::migrate
