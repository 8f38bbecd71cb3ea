// `fhir-migrate run` with migration.load = import end to end: bulk $export on
// the source, staging (passthrough: the destination reads the source's export
// URLs; serve: the tool's file server; azure-blob: Azurite, the Azure Storage
// emulator) and `$import` on the destination (tests/servers/import.mjs), with
// kill -9 while an import job runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "base/strings.h"
#include "base/time.h"
#include "env/clock.h"
#include "http/transport.h"
#include "stage/azure_blob.h"
#include "store/state_store.h"
#include "tests/harness/azurite.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;

class ImportRunTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_import_run");
  std::string state = dir + "/state.db";

  void SetUp() override {
    source.SetFaults(R"({"retryAfterSeconds":0})");
    destination.SetFaults(R"({"retryAfterSeconds":0})");
  }

  std::vector<std::string> Overrides(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"migration.extract=bulk",         "migration.load=import",
                                  "staging.kind=passthrough",       "bulk.poll_interval=100ms",
                                  "bulk.max_poll_interval=1s",      "migration.window=3650d",
                                  "staging.dir=" + dir + "/staging"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }

  int ImportKickoffs() { return Json::parse(destination.Stats())["importKickoffs"].get<int>(); }

  std::unique_ptr<store::StateStore> Store() {
    auto s = store::OpenSqliteStateStore({state, /*read_only=*/true});
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }
};

TEST_F(ImportRunTest, PassthroughImportKeepsMeta) {
  source.LoadNdjson(Generate(600, 11, "2023-01-01", "2023-06-01"));
  auto run = RunMigrate({"run", "--once"}, source, destination, state, Overrides());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_GE(ImportKickoffs(), 1);

  auto store = Store();
  for (const auto& w : *store->ListWindows()) {
    EXPECT_EQ(w.status, store::WindowStatus::kLoaded) << w.last_error;
  }
  int imports = 0;
  for (const auto& w : *store->ListWindows()) {
    for (const auto& j : *store->ListJobs(w.id)) {
      if (j.kind == "import") {
        ++imports;
        EXPECT_EQ(j.status, "done") << j.result_json;
      }
    }
  }
  EXPECT_GE(imports, 1);
  auto state_now = *store->GetMigration();
  EXPECT_TRUE(state_now.watermark.has_value());
}

// An $import run logged nothing at info level between the export's manifest
// and the window's end, and its last line gave neither the time it took nor
// its rate. Every import job now logs its kick-off, its progress and its
// result, and the run ends with its elapsed time and mean rate.
TEST_F(ImportRunTest, ImportJobsAreLoggedAndTheRunEndsWithItsElapsedTimeAndRate) {
  source.LoadNdjson(Generate(600, 13, "2023-01-01", "2023-06-01"));
  destination.SetFaults(R"({"retryAfterSeconds":0,"slowImportPolls":3})");
  auto run = RunMigrate({"run", "--once"}, source, destination, state, Overrides());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = R"(\$import job http://127\.0\.0\.1:\d+/fhir/\S+)";
  std::smatch m;
  EXPECT_TRUE(std::regex_search(
      run.err, std::regex(R"(info .*)" + job +
                          R"( kicked off: \d+ files? \(.*Patient \d+.*\), mode IncrementalLoad)")))
      << run.err;
  EXPECT_TRUE(std::regex_search(
      run.err, std::regex(R"(info .*)" + job + R"(: importing: \d+ resources imported)")))
      << run.err;
  ASSERT_TRUE(std::regex_search(
      run.err, m,
      std::regex(R"(info .*)" + job + R"( done: (\d+) resources imported \(.*\), 0 refused)")))
      << run.err;
  int64_t imported = std::stoll(m[1]);
  EXPECT_GT(imported, 0);
  ASSERT_TRUE(std::regex_search(
      run.err, m,
      std::regex(
          R"(info .*run finished in ([\d.]+)s: \d+ windows?, (\d+) resources loaded \(mean ([\d,.]+)/s\), 0 failed; watermark 20)")))
      << run.err;
  EXPECT_GT(std::stod(m[1]), 0.0) << m[0];
  EXPECT_EQ(std::stoll(m[2]), imported) << m[0];
  // The progress line at the end says the same.
  EXPECT_TRUE(std::regex_search(
      run.err, std::regex(R"(progress: done, .* done in [\d.]+s, mean [\d,.]+/s)")))
      << run.err;
}

TEST_F(ImportRunTest, ImportRequiresBulkExtraction) {
  auto run = RunMigrate({"run", "--once"}, source, destination, state,
                        {"migration.load=import", "staging.kind=passthrough"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("migration.extract"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("migration.load"), std::string::npos) << run.err;
}

TEST_F(ImportRunTest, KilledWhileImportingTheRerunPollsTheStoredJob) {
  source.LoadNdjson(Generate(400, 12, "2023-01-01", "2023-03-01"));
  destination.SetFaults(R"({"retryAfterSeconds":1,"slowImportPolls":40})");
  std::vector<std::string> argv = {FhirMigrateBinary(),
                                   "-o",
                                   "source.url=" + source.base_url(),
                                   "-o",
                                   "destination.url=" + destination.base_url(),
                                   "-o",
                                   "state.path=" + state};
  for (const auto& o : Overrides()) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  argv.push_back("run");
  argv.push_back("--once");
  SpawnOptions so;
  so.argv = argv;
  so.stdout_path = dir + "/kill.log";
  Process p(so);
  bool killed = false;
  std::unique_ptr<store::StateStore> reader;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
  while (!killed && std::chrono::steady_clock::now() < deadline && p.Running()) {
    if (!reader) {
      auto opened = store::OpenSqliteStateStore({state, /*read_only=*/true});
      if (opened.ok()) reader = std::move(*opened);
    }
    if (reader) {
      auto ws = reader->ListWindows();
      if (ws.ok()) {
        for (const auto& w : *ws) {
          auto jobs = reader->ListJobs(w.id);
          if (!jobs.ok()) continue;
          for (const auto& j : *jobs) {
            if (j.kind == "import" && j.status == "running") killed = true;
          }
        }
      }
    }
    if (killed) {
      p.Signal(SIGKILL);
      EXPECT_EQ(p.Wait(std::chrono::seconds(10)).value_or(0), 128 + SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(killed) << "the run finished before it could be killed while importing";
  int kickoffs = ImportKickoffs();
  EXPECT_EQ(kickoffs, 1);
  destination.SetFaults(R"({"retryAfterSeconds":0})");
  auto rerun = RunMigrate({"run", "--once"}, source, destination, state, Overrides());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(ImportKickoffs(), kickoffs) << "the rerun sent a second $import";
  auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

// local + serve staging; a staged line the destination refuses: the failure
// is recorded against its file and line, the good lines are loaded, and
// `status` reports the failure. The first run is stopped by a 423 at kick-off
// so the staged file can be damaged before the import reads it.
TEST_F(ImportRunTest, ServeStagingWithABadLineRecordsTheFailure) {
  source.LoadNdjson(Generate(300, 13, "2023-01-01", "2023-03-01"));
  destination.SetFaults(R"({"retryAfterSeconds":0,"import423":1})");
  auto o = Overrides(
      {"staging.kind=serve", "staging.serve_address=127.0.0.1:0", "migration.max_attempts=1"});
  auto first = RunMigrate({"run", "--once"}, source, destination, state, o);
  ASSERT_NE(first.exit_code, 0) << "the 423 should have halted the run";
  // Damage one staged line (same line count).
  std::string victim;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/staging")) {
    if (e.is_regular_file() && e.path().string().find("Patient") != std::string::npos) {
      victim = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(victim.empty()) << "no staged Patient file kept";
  {
    std::ifstream in(victim);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto nl = text.find('\n');
    ASSERT_NE(nl, std::string::npos);
    std::ofstream out(victim, std::ios::trunc);
    out << "this is not json" << text.substr(nl);
  }
  auto clear = RunMigrate({"clear-halt"}, source, destination, state, o);
  ASSERT_EQ(clear.exit_code, 0) << clear.err;
  auto second = RunMigrate({"run", "--once"}, source, destination, state, o);
  EXPECT_EQ(second.exit_code, 8) << second.err;  // finished, with a failure recorded
  EXPECT_EQ(ImportKickoffs(), 2);
  auto store = Store();
  auto failures = *store->ListFailures(false, 100);
  ASSERT_EQ(failures.size(), 1u) << second.err;
  EXPECT_EQ(failures[0].stage, "import");
  EXPECT_NE(failures[0].reason.find("invalid JSON"), std::string::npos) << failures[0].reason;
  EXPECT_NE(failures[0].body_location.find(":1"), std::string::npos) << failures[0].body_location;
  for (const auto& w : *store->ListWindows()) {
    EXPECT_EQ(w.status, store::WindowStatus::kLoaded) << w.last_error;
  }
  auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
  EXPECT_EQ(diffs.size(), 1u) << "only the damaged resource is missing";
  auto status = RunMigrate({"status"}, source, destination, state, o);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("failures:     1 unresolved"), std::string::npos) << status.out;
}

// Continuous incremental migration by $import: a later window whose import
// job lost resources without reporting an error, ended failed, or failed
// after importing part of its input (what it imported stays, as on Azure),
// must not move the watermark past it; once the destination behaves again, a
// rerun (after clear-halt) loads it and the destination equals the source.
TEST_F(ImportRunTest, AWindowWhoseImportFellShortOrFailedHoldsTheWatermark) {
  source.LoadNdjson(Generate(300, 14, "2023-01-01", "2023-03-01"));
  struct Case {
    std::string faults;
    std::string error_text;
    int kept = 0;  // updates the failed job imported before it failed
  };
  std::vector<Case> cases = {
      {R"({"retryAfterSeconds":0,"importDrop":3})", "fell short"},
      {R"({"retryAfterSeconds":0,"importFailJob":1})", "importFailJob"},
      {R"({"retryAfterSeconds":0,"importFailAfter":4})",
       "Import failed: the job stopped after importing 4 resources: the database ran out of space",
       4}};
  auto o = Overrides({"migration.safety_lag=1s", "migration.max_attempts=1"});
  // Passthrough: the destination reads the source's export files, so the
  // source's job is DELETEd once its window's imports are done, or once it is
  // abandoned for a new export.
  auto deleted_jobs = [&] {
    return Json::parse(source.Stats())["requests"].value("DELETE $export-status", 0);
  };
  auto first = RunMigrate({"run", "--once"}, source, destination, state, o);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(deleted_jobs(), 1) << first.err;
  auto page = Json::parse(source.Get("/Patient?_count=30").body);
  int round = 0;
  constexpr size_t kPerRound = 8;
  ASSERT_GE(page["entry"].size(), cases.size() * kPerRound);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.faults);
    auto status_before = RunMigrate({"status", "--json"}, source, destination, state, o);
    ASSERT_EQ(status_before.exit_code, 0) << status_before.err;
    auto before = Json::parse(status_before.out);
    ASSERT_TRUE(before["watermark"].is_string()) << before.dump();
    // Eight updates after the watermark: the next window holds them.
    ++round;
    for (size_t i = 0; i < kPerRound; ++i) {
      Json r = page["entry"][(round - 1) * kPerRound + i]["resource"];
      r["name"] = Json::array({{{"family", "Round" + std::to_string(round)}}});
      ASSERT_LT(source.Put("/Patient/" + r["id"].get<std::string>(), r.dump()).status, 300);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the safety lag
    destination.SetFaults(c.faults);
    auto broken = RunMigrate({"run", "--once"}, source, destination, state, o);
    EXPECT_EQ(broken.exit_code, 5) << broken.err;  // halted: max_attempts = 1
    EXPECT_NE(broken.err.find(c.error_text), std::string::npos) << broken.err;
    EXPECT_EQ(deleted_jobs(), 2 * round) << "the abandoned export job is deleted\n" << broken.err;

    auto status = RunMigrate({"status", "--json"}, source, destination, state, o);
    ASSERT_EQ(status.exit_code, 0) << status.err;
    auto report = Json::parse(status.out);
    EXPECT_EQ(report["watermark"], before["watermark"]) << "the watermark moved past the window";
    EXPECT_EQ(report["windows"]["failed"].get<int>(), 1) << status.out;
    EXPECT_TRUE(report["halted"].get<bool>());
    {
      auto store = Store();
      int failed = 0;
      for (const auto& w : *store->ListWindows()) {
        if (w.status != store::WindowStatus::kFailed) continue;
        ++failed;
        EXPECT_EQ(base::FormatInstant(w.since), before["watermark"].get<std::string>());
        EXPECT_NE(w.last_error.find(c.error_text), std::string::npos) << w.last_error;
      }
      EXPECT_EQ(failed, 1);
    }
    EXPECT_FALSE(CompareServers(source, destination, kGeneratedTypes, {}).empty())
        << "the fault should have kept some updates from the destination";
    if (c.kept > 0) {
      auto now = Json::parse(destination.Get("/Patient?name=Round" + std::to_string(round)).body);
      EXPECT_EQ(now["total"].get<int>(), c.kept) << "what the failed job imported stays";
    }

    destination.SetFaults(R"({"retryAfterSeconds":0})");
    auto clear = RunMigrate({"clear-halt"}, source, destination, state, o);
    ASSERT_EQ(clear.exit_code, 0) << clear.err;
    auto rerun = RunMigrate({"run", "--once"}, source, destination, state, o);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_EQ(deleted_jobs(), 2 * round + 1) << rerun.err;
    auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front() << "\n"
                               << rerun.err;
    auto status_after = RunMigrate({"status", "--json"}, source, destination, state, o);
    ASSERT_EQ(status_after.exit_code, 0) << status_after.err;
    auto after = Json::parse(status_after.out);
    EXPECT_GT(after["watermark"].get<std::string>(), before["watermark"].get<std::string>());
    EXPECT_EQ(after["windows"]["failed"].get<int>(), 0) << after.dump();
  }
}

// What an operator does in the Azure portal, done against Azurite with the
// development account's Shared Key: create a container, mint a container
// SAS, list the blobs.
class AzuriteAccount {
 public:
  explicit AzuriteAccount(const Azurite& azurite) : endpoint_(azurite.blob_endpoint()) {}

  http::Response Send(const std::string& method, const std::string& path_and_query) {
    http::Request r;
    r.method = method;
    r.url = endpoint_ + path_and_query;
    r.accept_gzip = false;
    http::SetHeader(r.headers, "x-ms-version", "2021-08-06");
    if (method == "PUT") http::SetHeader(r.headers, "Content-Type", "application/octet-stream");
    EXPECT_TRUE(
        stage::SignRequestSharedKey(r, Azurite::kAccount, Azurite::kKey, clock_->Now()).ok());
    auto sent = curl_->Send(r);
    EXPECT_TRUE(sent.ok()) << sent.error().ToString();
    return sent.ok() ? *sent : http::Response{};
  }

  void CreateContainer(const std::string& container) {
    auto r = Send("PUT", "/" + container + "?restype=container");
    EXPECT_EQ(r.status, 201) << r.body;
  }

  // Blob names in the container (one page: the tests stage a handful).
  std::vector<std::string> ListBlobs(const std::string& container) {
    auto r = Send("GET", "/" + container + "?restype=container&comp=list");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> names;
    for (size_t pos = 0; (pos = r.body.find("<Name>", pos)) != std::string::npos;) {
      size_t end = r.body.find("</Name>", pos);
      names.push_back(r.body.substr(pos + 6, end - pos - 6));
      pos = end;
    }
    return names;
  }

  // A container service SAS ("sv=...&sig=..."), signed like the portal does.
  std::string ContainerSas(const std::string& container, const std::string& permissions) {
    std::string expiry = stage::SasTime(clock_->Now() + std::chrono::hours(1));
    std::string to_sign = permissions + "\n\n" + expiry + "\n/blob/" + Azurite::kAccount + "/" +
                          container + "\n\n\n\n2019-12-12\nc\n\n\n\n\n\n";
    auto sig = stage::SignWithAccountKey(Azurite::kKey, to_sign);
    EXPECT_TRUE(sig.ok());
    return "sv=2019-12-12&sr=c&sp=" + permissions + "&se=" + base::UrlEncode(expiry) +
           "&sig=" + base::UrlEncode(sig.ok() ? *sig : "");
  }

 private:
  std::string endpoint_;
  std::unique_ptr<env::Clock> clock_ = env::NewSystemClock();
  std::unique_ptr<http::Transport> curl_ = http::NewCurlTransport({});
};

// Every file and directory under `root` is owner-only (0600 / 0700); returns
// the number of regular files seen.
int ExpectOwnerOnly(const std::string& root) {
  namespace fs = std::filesystem;
  auto mode = [](const fs::path& p) {
    return static_cast<unsigned>(fs::status(p).permissions() & fs::perms::mask);
  };
  EXPECT_EQ(mode(root), 0700u) << root;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_directory()) {
      EXPECT_EQ(mode(e.path()), 0700u) << e.path();
    } else if (e.is_regular_file()) {
      EXPECT_EQ(mode(e.path()), 0600u) << e.path();
      ++files;
    }
  }
  return files;
}

// staging.kind = azure-blob with the account key in an environment variable:
// the export files are staged locally (owner-only), uploaded to the
// container, and the destination's $import reads them through read-only SAS
// URLs. The destination ends equal to the source, meta included, and neither
// the key nor any SAS signature reaches the output, `status` or the state.
TEST_F(ImportRunTest, AzureBlobStagingWithSharedKeyKeepsMetaAndLeaksNoSecret) {
  Azurite azurite;
  AzuriteAccount account(azurite);
  source.LoadNdjson(Generate(600, 15, "2023-01-01", "2023-06-01"));
  auto o = Overrides({"staging.kind=azure-blob",
                      "staging.azure_container_url=" + azurite.blob_endpoint() + "/fm-staging",
                      std::string("staging.azure_account=") + Azurite::kAccount,
                      "staging.azure_key_env=FM_TEST_AZURE_KEY", "log.level=debug"});
  std::map<std::string, std::string> env = {{"FM_TEST_AZURE_KEY", Azurite::kKey}};
  auto run = RunMigrate({"run", "--once"}, source, destination, state, o, env);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << azurite.log();
  auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_GE(ImportKickoffs(), 1);

  // One blob per exported file, named w<window>/<Type>-<file id>.ndjson.
  auto blobs = account.ListBlobs("fm-staging");
  std::vector<std::string> expected;
  {
    auto store = Store();
    for (const auto& w : *store->ListWindows()) {
      EXPECT_EQ(w.status, store::WindowStatus::kLoaded) << w.last_error;
      for (const auto& f : *store->ListFiles(w.id)) {
        if (f.kind != "output") continue;
        expected.push_back("w" + std::to_string(w.id) + "/" + f.resource_type + "-" +
                           std::to_string(f.id) + ".ndjson");
      }
    }
  }
  ASSERT_FALSE(expected.empty());
  std::sort(expected.begin(), expected.end());
  std::sort(blobs.begin(), blobs.end());
  EXPECT_EQ(blobs, expected);

  // The files were staged locally before the upload; staged files of imported
  // windows are kept for now (docs/import-and-staging.md, "Still open").
  EXPECT_GT(ExpectOwnerOnly(dir + "/staging"), 0);

  auto status = RunMigrate({"status", "--json"}, source, destination, state, o, env);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  // The key with or without URL encoding ('/' '+' '=' come later in it).
  const std::string key_start = std::string(Azurite::kKey).substr(0, 24);
  std::map<std::string, std::string> outputs = {
      {"run stdout", run.out},         {"run stderr", run.err},
      {"status stdout", status.out},   {"status stderr", status.err},
      {"state file", ReadFile(state)}, {"state WAL", ReadFile(state + "-wal")}};
  for (const auto& [what, text] : outputs) {
    EXPECT_EQ(text.find(key_start), std::string::npos) << "the account key is in the " << what;
    EXPECT_EQ(text.find("sig="), std::string::npos) << "a SAS signature is in the " << what;
  }
  EXPECT_FALSE(run.err.empty()) << "debug logging printed nothing: the check above proves little";
}

// staging.kind = azure-blob with a container SAS (read, add, create, write,
// list) and no account key: the container exists (SAS tokens cannot create
// containers), the uploads and the $import reads both use the SAS.
TEST_F(ImportRunTest, AzureBlobStagingWithAContainerSas) {
  Azurite azurite;
  AzuriteAccount account(azurite);
  account.CreateContainer("sas-staging");
  source.LoadNdjson(Generate(400, 16, "2023-01-01", "2023-04-01"));
  auto o = Overrides({"staging.kind=azure-blob",
                      "staging.azure_container_url=" + azurite.blob_endpoint() + "/sas-staging",
                      std::string("staging.azure_account=") + Azurite::kAccount,
                      "staging.azure_sas_env=FM_TEST_AZURE_SAS"});
  // The variable unset: the run stops before exporting anything.
  auto unset = RunMigrate({"run", "--once"}, source, destination, state, o);
  EXPECT_NE(unset.exit_code, 0);
  EXPECT_NE(unset.err.find("staging.azure_sas_env"), std::string::npos) << unset.err;
  EXPECT_EQ(Json::parse(source.Stats())["kickoffs"].size(), 0u) << source.Stats();

  std::string sas = account.ContainerSas("sas-staging", "racwl");
  std::map<std::string, std::string> env = {{"FM_TEST_AZURE_SAS", sas}};
  auto run = RunMigrate({"run", "--once"}, source, destination, state, o, env);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << azurite.log();
  auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  EXPECT_FALSE(account.ListBlobs("sas-staging").empty());
  auto status = RunMigrate({"status", "--json"}, source, destination, state, o, env);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  for (const std::string& text : {run.out, run.err, status.out, status.err, ReadFile(state)}) {
    EXPECT_EQ(text.find("sig="), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace fm::harness
