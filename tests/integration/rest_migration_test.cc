// End to end over plain FHIR REST against two real FHIR servers (Medplum's
// router behind the project's adapter): search by _lastUpdated windows on the
// source, batch Bundles of PUT on the destination, the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

class RestMigrationTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_rest");
  std::string state = dir + "/state.db";
};

TEST_F(RestMigrationTest, EveryResourceArrivesWithEqualContent) {
  std::string ndjson = Generate(6000, 7, "2021-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  auto run = RunMigrate({"run", "--once"}, source, destination, state,
                        {"migration.window=30d", "rest.batch_size=100", "rest.concurrency=4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();

  // At least 6 types and 36 monthly windows over three years.
  auto status = RunMigrate({"status", "--json"}, source, destination, state);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto s = nlohmann::json::parse(status.out);
  EXPECT_GE(s["types"].size(), 6u);
  EXPECT_GE(s["windows"]["total"].get<int>(), 36);
  EXPECT_EQ(s["windows"]["loaded"], s["windows"]["total"]);
  EXPECT_FALSE(s["watermark"].is_null());
  int64_t loaded = 0;
  for (const auto& t : s["types"]) loaded += t["loaded"].get<int64_t>();
  EXPECT_EQ(loaded, static_cast<int64_t>(std::count(ndjson.begin(), ndjson.end(), '\n')));

  auto verify = RunMigrate({"verify", "--surface"}, source, destination, state);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("surface check passed"), std::string::npos) << verify.out;

  // A second run finds nothing new and changes nothing.
  auto again = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());
}

TEST_F(RestMigrationTest, ARejectedResourceIsQuarantinedAndTheRestLoads) {
  source.LoadNdjson(Generate(300, 3, "2023-01-01", "2023-06-01"));
  auto first = nlohmann::json::parse(source.Get("/Patient?_count=1").body)["entry"][0]["resource"];
  std::string id = first["id"];
  destination.SetFaults(R"({"putReject":["Patient/)" + id + R"("]})");
  auto run = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(run.exit_code, 8) << run.err;  // finished, with failures
  auto failures = RunMigrate({"failures", "list", "--json"}, source, destination, state);
  ASSERT_EQ(failures.exit_code, 0) << failures.err;
  auto list = nlohmann::json::parse(failures.out);
  ASSERT_EQ(list.size(), 1u) << failures.out;
  EXPECT_EQ(list[0]["type"], "Patient");
  EXPECT_EQ(list[0]["resource_id"], id);
  EXPECT_EQ(list[0]["http_status"], 400);
  EXPECT_NE(list[0]["reason"].get<std::string>().find("rejected by fault switch"), std::string::npos);
  auto status = RunMigrate({"status"}, source, destination, state);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("1 unresolved"), std::string::npos) << status.out;
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0], "missing on destination: Patient/" + id);
}

TEST_F(RestMigrationTest, ASourcePageThatIsNotJsonFailsTheWindowAndHolds) {
  source.LoadNdjson(Generate(200, 5, "2023-01-01", "2023-03-01"));
  source.SetFaults(R"({"badJsonSearchPage":1000})");
  auto run = RunMigrate({"run", "--once"}, source, destination, state,
                        {"migration.max_attempts=2", "migration.start=2023-01-01"});
  EXPECT_EQ(run.exit_code, 5) << run.err;  // halted
  EXPECT_NE(run.err.find("halted"), std::string::npos) << run.err;
  auto status = RunMigrate({"status", "--json"}, source, destination, state);
  ASSERT_EQ(status.exit_code, 0) << status.err;  // a halted migration's status is no error
  auto s = nlohmann::json::parse(status.out);
  EXPECT_TRUE(s["halted"].get<bool>());
  EXPECT_TRUE(s["watermark"].is_null()) << s.dump();
  // The fault goes away; clear-halt and run complete the migration.
  source.SetFaults("{}");
  EXPECT_EQ(RunMigrate({"clear-halt"}, source, destination, state).exit_code, 0);
  auto rerun = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());
}

TEST_F(RestMigrationTest, AnUnreachableServerIsOneClearLineAndExitCode3) {
  auto run = harness::Run({FhirMigrateBinary(), "-o", "source.url=http://127.0.0.1:9/fhir", "-o",
                  "destination.url=" + destination.base_url(), "-o", "state.path=" + state,
                  "-o", "http.max_attempts=2", "-o", "http.max_backoff=10ms", "check"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_NE(run.err.find("source"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("127.0.0.1"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST_F(RestMigrationTest, AnUnresolvableHostIsExitCode3) {
  auto run = harness::Run({FhirMigrateBinary(), "-o", "source.url=http://no-such-host.invalid/fhir", "-o",
                  "destination.url=" + destination.base_url(), "-o", "state.path=" + state, "check"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_NE(run.err.find("no-such-host.invalid"), std::string::npos) << run.err;
}

TEST_F(RestMigrationTest, RefusedCredentialsAreExitCode4) {
  source.SetFaults(R"({"bearerToken":"secret-token"})");
  auto run = RunMigrate({"check"}, source, destination, state);
  EXPECT_EQ(run.exit_code, 4) << run.err;
  EXPECT_NE(run.err.find("source"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("401"), std::string::npos) << run.err;
}

TEST_F(RestMigrationTest, CheckReportsBothServersAndThePlan) {
  source.LoadNdjson(Generate(100, 9, "2022-01-01", "2022-12-31"));
  auto run = RunMigrate({"check"}, source, destination, state);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("source:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("destination:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Patient"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("plan:"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace fm::harness
