// $import end to end against real test servers (Medplum router + the
// project's $export/$import emulation) and Azurite: generated data on a
// source → the source's $export → staging (azure-blob / passthrough / local
// files served by fhir-migrate) → $import on a destination → the destination
// equals the source, meta.lastUpdated and meta.versionId included.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "env/clock.h"
#include "env/file_system.h"
#include "fhir/bulk_import.h"
#include "fhir/client.h"
#include "http/retry.h"
#include "http/transport.h"
#include "stage/azure_blob.h"
#include "stage/file_server.h"
#include "tests/harness/azurite.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using nlohmann::json;

struct ManifestFile {
  std::string type;
  std::string url;
  int64_t count = -1;
};

class ImportTest : public ::testing::Test {
 protected:
  // Kicks off a system $export on the source and returns its manifest files.
  std::vector<ManifestFile> ExportSource() {
    http::Request kick;
    kick.url = source.base_url() + "/$export";
    kick.headers = {{"Accept", "application/fhir+json"}, {"Prefer", "respond-async"}};
    auto r = curl->Send(kick);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, 202) << r->body;
    std::string status_url = *http::FindHeader(r->headers, "Content-Location");
    for (int i = 0; i < 600; ++i) {
      http::Request poll;
      poll.url = status_url;
      auto p = curl->Send(poll);
      EXPECT_TRUE(p.ok());
      if (p->status == 200) {
        std::vector<ManifestFile> files;
        json manifest = json::parse(p->body);
        for (const auto& o : manifest["output"]) {
          files.push_back({o["type"], o["url"], o.value("count", int64_t{-1})});
        }
        return files;
      }
      EXPECT_EQ(p->status, 202) << p->body;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "export did not finish";
    return {};
  }

  // Downloads a file to the temp dir (what the local staging directory holds).
  std::string Download(const ManifestFile& f, int n) {
    std::string path = dir + "/" + f.type + "-" + std::to_string(n) + ".ndjson";
    std::ofstream out(path, std::ios::binary);
    http::Request r;
    r.url = f.url;
    r.on_body = [&](std::string_view chunk) {
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      return base::Ok();
    };
    auto resp = curl->Send(r);
    EXPECT_TRUE(resp.ok() && resp->status == 200);
    return path;
  }

  // Imports `inputs` into the destination and checks the counts.
  fhir::ImportResult Import(const std::vector<fhir::ImportInput>& inputs,
                            const std::vector<int64_t>& expected, size_t files_per_request = 10000) {
    fhir::Client client("destination", destination.base_url(), *retrying, *clock);
    fhir::ImportOptions o;
    o.initial_poll = std::chrono::milliseconds(50);
    o.max_poll = std::chrono::milliseconds(500);
    o.files_per_request = files_per_request;
    fhir::BulkImporter importer(client, *clock, o);
    std::vector<std::string> persisted;
    fhir::BulkImporter::Hooks hooks;
    hooks.on_kicked = [&](const fhir::BulkImporter::Kicked& k) {
      persisted.push_back(k.status_url);
      return base::Ok();
    };
    auto done = importer.Run(inputs, {}, hooks);
    EXPECT_TRUE(done.ok()) << done.error().ToString();
    fhir::ImportResult merged;
    if (!done.ok()) return merged;
    EXPECT_EQ(persisted.size(), done->size());
    for (auto& [k, r] : *done) {
      merged.output.insert(merged.output.end(), r.output.begin(), r.output.end());
      merged.error.insert(merged.error.end(), r.error.begin(), r.error.end());
    }
    std::vector<fhir::ImportExpectation> exp;
    for (size_t i = 0; i < inputs.size(); ++i) {
      exp.push_back({inputs[i].url, inputs[i].type, i < expected.size() ? expected[i] : -1});
    }
    auto cmp = fhir::CompareImportCounts(exp, merged);
    EXPECT_TRUE(cmp.ok()) << cmp.problems.front();
    return merged;
  }

  void ExpectEqualIncludingMeta() {
    auto diffs = CompareServers(source, destination, kGeneratedTypes, {});
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  }

  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_import");
  std::unique_ptr<env::Clock> clock = env::NewSystemClock();
  std::unique_ptr<env::FileSystem> fs = env::NewPosixFileSystem();
  std::unique_ptr<http::Transport> curl = http::NewCurlTransport({});
  std::unique_ptr<http::Transport> retrying = http::NewRetryingTransport(
      *curl, *clock,
      http::RetryOptions{.max_attempts = 5,
                         .initial_backoff = std::chrono::milliseconds(50),
                         .max_backoff = std::chrono::milliseconds(500)});
};

TEST_F(ImportTest, AzureBlobStagingKeepsLastUpdated) {
  Azurite azurite;
  source.LoadNdjson(Generate(3000, 11, "2021-01-01", "2024-01-01"));
  auto files = ExportSource();
  ASSERT_FALSE(files.empty());

  stage::AzureBlobOptions o;
  o.endpoint = azurite.blob_endpoint();
  o.account = Azurite::kAccount;
  o.account_key = Azurite::kKey;
  o.container = "staging";
  o.prefix = "run-1/";
  o.sas_lifetime = std::chrono::hours(1);
  stage::AzureBlobClient blob(*retrying, *clock, *fs, o);
  ASSERT_TRUE(blob.CreateContainerIfMissing().ok());
  ASSERT_TRUE(blob.CreateContainerIfMissing().ok());  // idempotent

  std::vector<fhir::ImportInput> inputs;
  std::vector<int64_t> expected;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string path = Download(files[i], static_cast<int>(i));
    auto up = blob.UploadFile(path, files[i].type + "-" + std::to_string(i) + ".ndjson");
    ASSERT_TRUE(up.ok()) << up.error().ToString();
    auto sas = blob.ReadSasUrl(files[i].type + "-" + std::to_string(i) + ".ndjson");
    ASSERT_TRUE(sas.ok()) << sas.error().ToString();
    EXPECT_NE(sas->find("sp=r"), std::string::npos);
    inputs.push_back({files[i].type, *sas, ""});
    expected.push_back(files[i].count);
  }
  // Anonymous reads are refused; the SAS URL works.
  http::Request anon;
  anon.url = blob.BlobUrl(files[0].type + "-0.ndjson");
  auto a = curl->Send(anon);
  ASSERT_TRUE(a.ok());
  EXPECT_GE(a->status, 400);

  auto result = Import(inputs, expected, /*files_per_request=*/3);
  EXPECT_TRUE(result.error.empty());
  ExpectEqualIncludingMeta();
}

TEST_F(ImportTest, PassthroughImportsStraightFromTheExportUrls) {
  source.LoadNdjson(Generate(2000, 12, "2022-01-01", "2023-06-01"));
  auto files = ExportSource();
  ASSERT_FALSE(files.empty());
  std::vector<fhir::ImportInput> inputs;
  std::vector<int64_t> expected;
  for (const auto& f : files) {
    inputs.push_back({f.type, f.url, ""});
    expected.push_back(f.count);
  }
  Import(inputs, expected);
  ExpectEqualIncludingMeta();
}

TEST_F(ImportTest, LocalFilesServedByTheToolAreImported) {
  source.LoadNdjson(Generate(2000, 13, "2020-01-01", "2021-01-01"));
  auto files = ExportSource();
  ASSERT_FALSE(files.empty());
  auto server = stage::FileServer::Start({});
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  std::vector<fhir::ImportInput> inputs;
  std::vector<int64_t> expected;
  for (size_t i = 0; i < files.size(); ++i) {
    inputs.push_back({files[i].type, (*server)->Register(Download(files[i], static_cast<int>(i))), ""});
    expected.push_back(files[i].count);
  }
  Import(inputs, expected);
  ExpectEqualIncludingMeta();
  EXPECT_GE((*server)->requests_served(), files.size());
}

TEST_F(ImportTest, BadLinesAreReportedWithDiagnosticsAndGoodLinesLoad) {
  std::string good1 = R"({"resourceType":"Patient","id":"g1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00.000Z"}})";
  std::string good2 = R"({"resourceType":"Patient","id":"g2","meta":{"versionId":"3","lastUpdated":"2020-02-01T00:00:00.000Z"}})";
  std::string path = dir + "/Patient-bad.ndjson";
  std::ofstream(path) << good1 << "\n"
                      << "{not json\n"
                      << good2 << "\n"
                      << R"({"id":"x"})" << "\n"
                      << R"({"resourceType":"Observation","id":"o1"})" << "\n";
  auto server = stage::FileServer::Start({});
  ASSERT_TRUE(server.ok());
  std::string url = (*server)->Register(path);

  fhir::Client client("destination", destination.base_url(), *retrying, *clock);
  fhir::ImportOptions o;
  o.initial_poll = std::chrono::milliseconds(50);
  fhir::BulkImporter importer(client, *clock, o);
  auto kicked = importer.Kickoff({{"Patient", url, ""}});
  ASSERT_TRUE(kicked.ok()) << kicked.error().ToString();
  auto result = importer.Wait(*kicked);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(result->output.size(), 1u);
  EXPECT_EQ(result->output[0].count, 2);
  ASSERT_EQ(result->error.size(), 1u);
  EXPECT_EQ(result->error[0].count, 3);
  auto errors = importer.ReadErrors(*result);
  ASSERT_TRUE(errors.ok()) << errors.error().ToString();
  ASSERT_EQ(errors->size(), 3u);
  EXPECT_EQ((*errors)[0].line, 2);
  EXPECT_NE((*errors)[0].diagnostics.find("invalid JSON"), std::string::npos) << (*errors)[0].diagnostics;
  EXPECT_EQ((*errors)[1].line, 4);
  EXPECT_NE((*errors)[1].diagnostics.find("missing resourceType"), std::string::npos);
  EXPECT_EQ((*errors)[2].line, 5);
  EXPECT_NE((*errors)[2].diagnostics.find("does not match"), std::string::npos);
  for (const auto& e : *errors) {
    EXPECT_EQ(e.input_url, url);
    EXPECT_EQ(e.resource_type, "Patient");
  }
  // 5 lines: 2 loaded + 3 reported is complete; claiming 6 is a shortfall.
  EXPECT_TRUE(fhir::CompareImportCounts({{url, "Patient", 5}}, *result).ok());
  EXPECT_FALSE(fhir::CompareImportCounts({{url, "Patient", 6}}, *result).ok());
  // The good lines are there with their meta.
  auto g2 = json::parse(destination.Get("/Patient/g2").body);
  EXPECT_EQ(g2["meta"]["versionId"], "3");
  EXPECT_EQ(g2["meta"]["lastUpdated"], "2020-02-01T00:00:00.000Z");
}

TEST_F(ImportTest, ServerFaultsAreHandled) {
  source.LoadNdjson(Generate(300, 14, "2022-01-01", "2022-03-01"));
  auto files = ExportSource();
  ASSERT_FALSE(files.empty());
  std::vector<fhir::ImportInput> inputs;
  std::vector<int64_t> expected;
  for (const auto& f : files) {
    inputs.push_back({f.type, f.url, ""});
    expected.push_back(f.count);
  }
  fhir::Client client("destination", destination.base_url(), *retrying, *clock);
  fhir::ImportOptions o;
  o.initial_poll = std::chrono::milliseconds(20);
  fhir::BulkImporter importer(client, *clock, o);

  destination.SetFaults(R"({"import423":1})");
  auto locked = importer.Kickoff(inputs);
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().http_status, 423);
  EXPECT_NE(locked.error().message.find("initial-import mode"), std::string::npos);

  // 413 once: split in halves; transient 500s on kick-off and polls: retried.
  destination.SetFaults(
      R"({"import413":1,"importTransient500":2,"slowImportPolls":2})");
  auto done = importer.Run(inputs, {}, {});
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->size(), inputs.size() > 1 ? 2u : 1u);
  ExpectEqualIncludingMeta();
}

TEST_F(ImportTest, AFileOver64MiBGoesThroughAzuriteInBlocks) {
  Azurite azurite;
  std::string path = dir + "/big.ndjson";
  auto gen = harness::Run({FhirgenBinary(), "--seed", "5", "--count", "90000", "--from", "2020-01-01",
                  "--till", "2021-01-01", "--out", path});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto size = fs->FileSize(path);
  ASSERT_TRUE(size.ok());
  // Grow it past 64 MiB by appending itself when the generator's resources are small.
  while (*fs->FileSize(path) <= (64u << 20)) {
    std::string chunk = ReadFile(path);
    std::ofstream(path, std::ios::app | std::ios::binary) << chunk;
  }
  uint64_t bytes = *fs->FileSize(path);
  ASSERT_GT(bytes, 64u << 20);

  stage::AzureBlobOptions o;
  o.endpoint = azurite.blob_endpoint();
  o.account = Azurite::kAccount;
  o.account_key = Azurite::kKey;
  o.container = "big";
  stage::AzureBlobClient blob(*retrying, *clock, *fs, o);  // default 8 MiB blocks
  ASSERT_TRUE(blob.CreateContainerIfMissing().ok());
  auto up = blob.UploadFile(path, "big.ndjson");
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  int expected_blocks = static_cast<int>((bytes + (8u << 20) - 1) / (8u << 20));
  EXPECT_EQ(up->blocks, expected_blocks);
  EXPECT_GE(up->blocks, 9);
  auto blocks = blob.CommittedBlocks("big.ndjson");
  ASSERT_TRUE(blocks.ok()) << blocks.error().ToString();
  ASSERT_EQ(static_cast<int>(blocks->size()), expected_blocks);
  uint64_t total = 0;
  for (const auto& b : *blocks) total += b.size;
  EXPECT_EQ(total, bytes);
  EXPECT_EQ((*blocks)[0].size, 8u << 20);
  // The SAS URL serves the whole blob.
  auto sas = blob.ReadSasUrl("big.ndjson");
  ASSERT_TRUE(sas.ok());
  http::Request head;
  head.method = "HEAD";
  head.url = *sas;
  auto h = curl->Send(head);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(*http::FindHeader(h->headers, "Content-Length"), std::to_string(bytes));
}

}  // namespace
}  // namespace fm::harness
