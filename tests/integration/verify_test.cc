// `fhir-migrate verify` against two real FHIR servers loaded with the same
// generated data, then made to differ on purpose: every planted difference is
// reported exactly (ids and JSON Pointers), and nothing else is.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using nlohmann::json;

class VerifyTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_verify");
  std::string state = dir + "/state.db";

  std::vector<std::string> overrides;  // -o key=value for every run

  RunResult Verify(const std::vector<std::string>& args) {
    std::vector<std::string> a = {"verify"};
    a.insert(a.end(), args.begin(), args.end());
    return RunMigrate(a, source, destination, state, overrides);
  }

  // The same generated data on both sides, then on the destination: the first
  // Observation never loaded, a changed scalar (gender) and a changed element
  // of a nested array (name[0].given[0]) on two Patients, an extra Patient.
  struct Planted {
    std::string missing_id, scalar_id, nested_id;
    std::string old_gender, new_gender, old_given;
  };
  Planted PlantDifferences();
  // The full check's JSON report names exactly the planted differences.
  void ExpectExactly(const json& full, const Planted& p);
};

std::vector<json> Lines(const std::string& ndjson) {
  std::vector<json> out;
  std::istringstream in(ndjson);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::string Ndjson(const std::vector<json>& resources) {
  std::string out;
  for (const auto& r : resources) out += r.dump() + "\n";
  return out;
}

TEST_F(VerifyTest, EqualServersPassEveryCheck) {
  std::string ndjson = Generate(300, 21, "2022-01-01", "2023-01-01");
  source.LoadNdjson(ndjson);
  destination.LoadNdjson(ndjson);
  for (auto args :
       std::vector<std::vector<std::string>>{{"--surface"},
                                             {"--deep", "5"},
                                             {"--full"},
                                             {"--surface", "--deep", "3", "--full", "--json"}}) {
    auto run = Verify(args);
    EXPECT_EQ(run.exit_code, 0) << args[0] << "\n" << run.out << run.err;
  }
  auto run = Verify({"--full", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto j = json::parse(run.out);
  int64_t n = 0;
  for (const auto& t : j["full"]["types"]) n += t["source"].get<int64_t>();
  EXPECT_EQ(n, 300);
  EXPECT_TRUE(j["passed"].get<bool>());
}

VerifyTest::Planted VerifyTest::PlantDifferences() {
  auto resources = Lines(Generate(400, 22, "2022-01-01", "2023-01-01"));
  source.LoadNdjson(Ndjson(resources));
  Planted p;
  json scalar, nested;
  std::vector<json> dest;
  for (const auto& r : resources) {
    std::string type = r["resourceType"];
    if (type == "Observation" && p.missing_id.empty()) {
      p.missing_id = r["id"];
      continue;
    }
    if (type == "Patient" && p.scalar_id.empty()) {
      p.scalar_id = r["id"], scalar = r;
    } else if (type == "Patient" && p.nested_id.empty()) {
      p.nested_id = r["id"], nested = r;
    }
    dest.push_back(r);
  }
  EXPECT_FALSE(p.missing_id.empty());
  EXPECT_FALSE(p.nested_id.empty());
  destination.LoadNdjson(Ndjson(dest));
  p.old_gender = scalar["gender"];
  p.new_gender = p.old_gender == "male" ? "female" : "male";
  scalar["gender"] = p.new_gender;
  EXPECT_LT(destination.Put("/Patient/" + p.scalar_id, scalar.dump()).status, 300);
  p.old_given = nested["name"][0]["given"][0];
  nested["name"][0]["given"][0] = "Changed";
  EXPECT_LT(destination.Put("/Patient/" + p.nested_id, nested.dump()).status, 300);
  json extra = scalar;
  extra["id"] = "verify-extra-1";
  extra.erase("meta");
  EXPECT_LT(destination.Put("/Patient/verify-extra-1", extra.dump()).status, 300);
  return p;
}

void VerifyTest::ExpectExactly(const json& f, const Planted& p) {
  EXPECT_EQ(f["missing"], json::array({"Observation/" + p.missing_id}));
  EXPECT_EQ(f["extra"], json::array({"Patient/verify-extra-1"}));
  std::vector<std::string> different = {"Patient/" + p.scalar_id, "Patient/" + p.nested_id};
  std::sort(different.begin(), different.end());
  EXPECT_EQ(f["different"], json(different));
  for (const auto& t : f["types"]) {
    std::string type = t["type"];
    EXPECT_EQ(t["missing"], type == "Observation" ? 1 : 0) << type;
    EXPECT_EQ(t["extra"], type == "Patient" ? 1 : 0) << type;
    EXPECT_EQ(t["different"], type == "Patient" ? 2 : 0) << type;
    EXPECT_EQ(t["destination"].get<int64_t>() - t["source"].get<int64_t>(), type == "Observation"
                                                                                ? -1
                                                                            : type == "Patient" ? 1
                                                                                                : 0)
        << type;
  }
}

TEST_F(VerifyTest, EveryPlantedDifferenceIsReportedExactlyAndNothingElse) {
  // Both servers offer $export; this test keeps the full check on search paging.
  overrides = {"verify.full_via=search"};
  Planted p = PlantDifferences();
  const std::string& missing_id = p.missing_id;
  const std::string& scalar_id = p.scalar_id;
  const std::string& nested_id = p.nested_id;
  const std::string& old_gender = p.old_gender;
  const std::string& new_gender = p.new_gender;
  const std::string& old_given = p.old_given;

  // Full check.
  auto full = Verify({"--full", "--json"});
  EXPECT_EQ(full.exit_code, 6) << full.err;
  auto f = json::parse(full.out)["full"];
  ExpectExactly(f, p);
  EXPECT_EQ(f["read"], json({{"source", "search"}, {"destination", "search"}}));
  EXPECT_NE(full.err.find("Observation/" + missing_id), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("Patient/verify-extra-1"), std::string::npos) << full.err;
  EXPECT_EQ(json::parse(source.Stats())["exportKickoffs"], 0);

  // Deep check over a sample that covers every resource.
  auto deep = Verify({"--deep", "100000", "--json"});
  EXPECT_EQ(deep.exit_code, 6) << deep.err;
  auto d = json::parse(deep.out)["deep"];
  std::map<std::string, json> mismatches;
  for (const auto& t : d["types"]) {
    EXPECT_EQ(t["sampled"], t["population"]) << t["type"];
    for (const auto& m : t["mismatches"])
      mismatches[t["type"].get<std::string>() + "/" + m["id"].get<std::string>()] = m;
  }
  ASSERT_EQ(mismatches.size(), 3u) << d.dump(1);
  EXPECT_TRUE(mismatches["Observation/" + missing_id]["missing"].get<bool>());
  auto& ms = mismatches["Patient/" + scalar_id];
  ASSERT_EQ(ms["differences"].size(), 1u) << ms.dump();
  EXPECT_EQ(ms["differences"][0]["pointer"], "/gender");
  EXPECT_EQ(ms["differences"][0]["source"], old_gender);
  EXPECT_EQ(ms["differences"][0]["destination"], new_gender);
  auto& mn = mismatches["Patient/" + nested_id];
  ASSERT_EQ(mn["differences"].size(), 1u) << mn.dump();
  EXPECT_EQ(mn["differences"][0]["pointer"], "/name/0/given/0");
  EXPECT_EQ(mn["differences"][0]["source"], old_given);
  EXPECT_EQ(mn["differences"][0]["destination"], "Changed");

  // The text report names the pointers too.
  auto text = Verify({"--deep", "100000"});
  EXPECT_EQ(text.exit_code, 6);
  EXPECT_NE(text.out.find("/name/0/given/0"), std::string::npos) << text.out;

  // A surface check that disagrees names the types whose counts differ.
  auto surface = Verify({"--surface"});
  EXPECT_EQ(surface.exit_code, 6) << surface.out;
  EXPECT_NE(surface.err.find("counts differ for Observation, Patient"), std::string::npos)
      << surface.err;
  EXPECT_NE(surface.out.find("MISMATCH"), std::string::npos) << surface.out;

  // status shows the newest check, whatever its kind.
  auto status = RunMigrate({"status", "--json"}, source, destination, state);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(json::parse(status.out)["last_check"]["kind"], "surface") << status.out;
  auto full_again = Verify({"--full"});
  EXPECT_EQ(full_again.exit_code, 6) << full_again.err;
  status = RunMigrate({"status", "--json"}, source, destination, state);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(json::parse(status.out)["last_check"]["kind"], "full") << status.out;

  // Delete reconciliation: a dry run first, then --apply.
  auto dry = Verify({"--full", "--fix-deletes", "--json"});
  EXPECT_EQ(dry.exit_code, 6);
  auto x = json::parse(dry.out)["full"]["fix_deletes"];
  EXPECT_FALSE(x["applied"].get<bool>());
  EXPECT_EQ(x["listed"], json::array({"Patient/verify-extra-1"}));
  EXPECT_EQ(destination.Get("/Patient/verify-extra-1").status, 200);
  auto apply = Verify({"--full", "--fix-deletes", "--apply"});
  EXPECT_EQ(apply.exit_code, 6) << apply.err;  // missing and different ones remain
  EXPECT_NE(apply.out.find("deleted 1 of 1"), std::string::npos) << apply.out;
  EXPECT_NE(destination.Get("/Patient/verify-extra-1").status, 200);
  auto after = Verify({"--full", "--json"});
  EXPECT_EQ(after.exit_code, 6) << after.err;
  auto a = json::parse(after.out)["full"];
  EXPECT_TRUE(a["extra"].empty()) << a.dump();
  EXPECT_EQ(a["missing"].size(), 1u);
  EXPECT_EQ(a["different"].size(), 2u);
}

TEST_F(VerifyTest, FullCheckUsesExportWhereOfferedAndReportsEveryPlantedDifferenceExactly) {
  Planted p = PlantDifferences();
  for (FhirServer* s : {&source, &destination}) s->SetFaults(R"({"retryAfterSeconds":0})");
  auto full = Verify({"--full", "--json"});
  EXPECT_EQ(full.exit_code, 6) << full.err;
  auto f = json::parse(full.out)["full"];
  ExpectExactly(f, p);
  EXPECT_EQ(f["read"], json({{"source", "export"}, {"destination", "export"}})) << full.err;
  for (FhirServer* s : {&source, &destination}) {
    auto stats = json::parse(s->Stats());
    EXPECT_EQ(stats["exportKickoffs"], 1) << stats.dump();
    EXPECT_EQ(stats["requests"].value("DELETE $export-status", 0), 1) << stats.dump();
  }
  EXPECT_NE(full.err.find("source: read by $export"), std::string::npos) << full.err;
}

TEST_F(VerifyTest, FullCheckMixesExportAndSearchWhenOneSideCannotExport) {
  // The destination's $export wants a token fhir-migrate does not have: its
  // side falls back to search, the source's stays on $export.
  Planted p = PlantDifferences();
  source.SetFaults(R"({"retryAfterSeconds":0})");
  destination.SetFaults(R"({"retryAfterSeconds":0,"exportRequiresToken":true})");
  auto full = Verify({"--full", "--json"});
  EXPECT_EQ(full.exit_code, 6) << full.err;
  auto f = json::parse(full.out)["full"];
  ExpectExactly(f, p);
  EXPECT_EQ(f["read"], json({{"source", "export"}, {"destination", "search"}})) << full.err;
  EXPECT_EQ(json::parse(destination.Stats())["exportKickoffs"], 1);
  EXPECT_NE(full.err.find("destination: the full check's $export failed"), std::string::npos)
      << full.err;
  EXPECT_NE(full.err.find("reading by search instead"), std::string::npos) << full.err;
}

TEST_F(VerifyTest, AnInterruptedFullCheckDeletesItsExportAndNeverPasses) {
  std::string ndjson = Generate(200, 23, "2022-01-01", "2023-01-01");
  source.LoadNdjson(ndjson);
  destination.LoadNdjson(ndjson);
  // The source's export job stays "in progress" for a long while.
  source.SetFaults(R"({"retryAfterSeconds":1,"slowExportPolls":1000})");
  std::string log = dir + "/verify.log";
  std::vector<std::string> argv = {FhirMigrateBinary(),
                                   "-o",
                                   "source.url=" + source.base_url(),
                                   "-o",
                                   "destination.url=" + destination.base_url(),
                                   "-o",
                                   "state.path=" + state,
                                   "-o",
                                   "verify.full_via=export",
                                   "verify",
                                   "--full"};
  Process verify({argv, {}, log, ""});
  for (int i = 0; i < 200 && json::parse(source.Stats())["exportKickoffs"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(json::parse(source.Stats())["exportKickoffs"], 1) << ReadFile(log);
  verify.Signal(SIGINT);
  auto code = verify.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "verify did not stop: " << ReadFile(log);
  EXPECT_NE(*code, 0) << ReadFile(log);
  EXPECT_NE(*code, 128 + SIGINT) << "killed, not stopped: " << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("stopped before the check was complete"), std::string::npos)
      << ReadFile(log);
  auto stats = json::parse(source.Stats());
  EXPECT_EQ(stats["requests"].value("DELETE $export-status", 0), 1) << stats.dump();
}

TEST_F(VerifyTest, ApplyWithoutFixDeletesIsAUsageError) {
  auto run = Verify({"--full", "--apply"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
}

}  // namespace
}  // namespace fm::harness
