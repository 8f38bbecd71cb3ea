// Bulk Data $export variants and credential safety end to end: the real
// binary against the test server's $export emulation (tests/servers/export.mjs).
//  - Kick-off variants (Patient and Group level, POST Parameters, _typeFilter,
//    includeAssociatedData and free-form parameters): what the server received
//    (its kick-off records, GET /fhir/$admin/stats → kickoffs) and exactly which
//    resources reached the destination.
//  - Credentials inside a real export: status and file URLs on another origin,
//    file downloads redirected to another origin; a second loopback listener
//    stands for that origin and records every request it gets.
//  - Token expiry during a slow export and its downloads: short-lived tokens
//    from a loopback token endpoint that the server checks itself (the
//    `hmacTokens` switch: tokens carry their expiry and an HMAC).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "base/strings.h"
#include "store/state_store.h"
#include "tests/integration/compare.h"
#include "tests/support/loopback_server.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;
using test_support::LoopbackRequest;
using test_support::LoopbackResponse;
using test_support::LoopbackServer;

constexpr char kStaticToken[] = "bv-static-TOKEN-71c3";
constexpr char kClientSecret[] = "bv-client-SECRET-2d9e";
constexpr char kTokenKey[] = "bv-hmac-KEY-5f0a";  // shared by the token endpoint and the server

const std::vector<std::string> kCompartmentTypes = {"Patient", "Encounter", "Observation",
                                                    "Condition", "MedicationRequest"};

class BulkVariantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ndjson = Generate(600, 21, "2023-01-01", "2023-04-01");
    source.LoadNdjson(ndjson);
    source.SetFaults(R"({"retryAfterSeconds":0})");
    setenv("FM_BV_STATIC_TOKEN", kStaticToken, 1);
    setenv("FM_BV_CLIENT_SECRET", kClientSecret, 1);
  }

  std::vector<std::string> BulkOverrides(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"migration.extract=bulk",    "bulk.poll_interval=100ms",
                                  "bulk.max_poll_interval=1s", "rest.batch_size=100",
                                  "migration.window=3650d",    "staging.dir=" + dir + "/staging"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }

  RunResult Bulk(const std::string& state, std::vector<std::string> extra = {}) {
    return RunMigrate({"run", "--once"}, source, destination, state, BulkOverrides(extra));
  }

  Json Stats(FhirServer& server) { return Json::parse(server.Stats()); }
  Json LastKickoff() {
    Json k = Stats(source)["kickoffs"];
    EXPECT_FALSE(k.empty());
    return k.empty() ? Json::object() : k.back();
  }

  std::unique_ptr<store::StateStore> Store(const std::string& path) {
    auto s = store::OpenSqliteStateStore({path, /*read_only=*/true});
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }

  // The destination holds exactly the source's resources of `types` that
  // `keep` selects, with the source's content.
  void ExpectDestinationHolds(const std::vector<std::string>& types,
                              const std::function<bool(const Json&)>& keep,
                              size_t min_expected = 1) {
    auto src = DumpServer(source, types, {"/meta/versionId", "/meta/lastUpdated"});
    auto dst = DumpServer(destination, types, {"/meta/versionId", "/meta/lastUpdated"});
    std::map<std::string, std::string> expected;
    for (const auto& [key, text] : src) {
      if (keep(Json::parse(text))) expected[key] = text;
    }
    ASSERT_GE(expected.size(), min_expected);
    std::vector<std::string> diffs;
    for (const auto& [key, text] : expected) {
      auto it = dst.find(key);
      if (it == dst.end()) {
        diffs.push_back("missing on destination: " + key);
      } else if (it->second != text) {
        diffs.push_back("different content: " + key);
      }
    }
    for (const auto& [key, text] : dst) {
      if (!expected.count(key)) diffs.push_back("unexpected on destination: " + key);
    }
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  }

  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_bulkvar");
  std::string ndjson;
};

std::string ParamValue(const Json& parameters, const std::string& name, const std::string& key) {
  for (const auto& p : parameters["parameter"]) {
    if (p["name"] == name && p.contains(key)) return p[key].get<std::string>();
  }
  return "<" + name + "." + key + " missing>";
}

std::string SubjectPatient(const Json& r) {
  if (!r.contains("subject") || !r["subject"].contains("reference")) return "";
  std::string ref = r["subject"]["reference"];
  return base::StartsWith(ref, "Patient/") ? ref.substr(8) : "";
}

// ---- 1. kick-off variants --------------------------------------------------------------------

TEST_F(BulkVariantsTest, PatientLevelExportCarriesOnlyThePatientCompartment) {
  std::string state = dir + "/patient.db";
  auto run = Bulk(state, {"bulk.level=patient"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json k = LastKickoff();
  EXPECT_EQ(k["method"], "GET");
  EXPECT_EQ(k["path"], "/fhir/Patient/$export");
  EXPECT_EQ(k["level"], "patient");
  EXPECT_TRUE(k["params"].contains("_since")) << k.dump();
  EXPECT_TRUE(k["params"].contains("_till")) << k.dump();
  EXPECT_EQ(k["params"]["_outputFormat"], Json::array({"application/fhir+ndjson"}));
  std::vector<std::string> all = kCompartmentTypes;
  all.insert(all.end(), {"Practitioner", "Organization"});
  ExpectDestinationHolds(all, [](const Json& r) {
    return r["resourceType"] != "Practitioner" && r["resourceType"] != "Organization";
  });
  auto stats = Stats(destination)["resources"];
  EXPECT_FALSE(stats.contains("Practitioner")) << stats.dump();
  EXPECT_FALSE(stats.contains("Organization")) << stats.dump();
}

TEST_F(BulkVariantsTest, GroupLevelExportCarriesOnlyTheMembersData) {
  std::vector<std::string> members;
  for (auto line : base::Split(ndjson, '\n')) {
    if (line.empty()) continue;
    Json r = Json::parse(line);
    if (r["resourceType"] == "Patient" && members.size() < 4) members.push_back(r["id"]);
  }
  ASSERT_EQ(members.size(), 4u);
  Json group = {{"resourceType", "Group"},
                {"id", "cohort"},
                {"meta", {{"versionId", "1"}, {"lastUpdated", "2023-02-01T00:00:00.000Z"}}},
                {"type", "person"},
                {"actual", true},
                {"member", Json::array()}};
  for (const auto& id : members) {
    group["member"].push_back({{"entity", {{"reference", "Patient/" + id}}}});
  }
  source.LoadNdjson(group.dump() + "\n");

  std::string state = dir + "/group.db";
  auto run = Bulk(state, {"bulk.level=group", "bulk.group_id=cohort"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json k = LastKickoff();
  EXPECT_EQ(k["method"], "GET");
  EXPECT_EQ(k["path"], "/fhir/Group/cohort/$export");
  EXPECT_EQ(k["groupId"], "cohort");
  std::set<std::string> ids(members.begin(), members.end());
  std::vector<std::string> all = kCompartmentTypes;
  all.insert(all.end(), {"Practitioner", "Organization", "Group"});
  ExpectDestinationHolds(
      all,
      [&](const Json& r) {
        if (r["resourceType"] == "Patient") return ids.count(r["id"].get<std::string>()) > 0;
        return ids.count(SubjectPatient(r)) > 0;
      },
      /*min_expected=*/8);
}

TEST_F(BulkVariantsTest, PostKickOffSendsAParametersBodyWithTheWindowAndTypes) {
  std::string state = dir + "/post.db";
  auto run = Bulk(state, {"bulk.method=post"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json k = LastKickoff();
  EXPECT_EQ(k["method"], "POST");
  EXPECT_EQ(k["path"], "/fhir/$export");
  EXPECT_TRUE(k["query"].empty()) << k.dump();
  ASSERT_TRUE(k["body"].is_object()) << k.dump();
  EXPECT_EQ(k["body"]["resourceType"], "Parameters");
  auto windows = *Store(state)->ListWindows();
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(ParamValue(k["body"], "_since", "valueInstant"), base::FormatInstant(windows[0].since));
  EXPECT_EQ(ParamValue(k["body"], "_till", "valueInstant"), base::FormatInstant(windows[0].till));
  std::string types = ParamValue(k["body"], "_type", "valueString");
  for (const auto& t : kGeneratedTypes) {
    EXPECT_NE(types.find(t), std::string::npos) << t << " not in _type " << types;
  }
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

TEST_F(BulkVariantsTest, TypeFilterNarrowsTheFilteredTypesOnly) {
  // A comma inside one filter is escaped (%2C), as the Bulk Data spec asks:
  // the comma list of bulk.type_filter separates filters.
  std::string state = dir + "/typefilter.db";
  auto run = Bulk(state, {"bulk.type_filter=MedicationRequest?status=active,"
                          "Observation?status=amended%2Cpreliminary"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json k = LastKickoff();
  EXPECT_EQ(k["params"]["_typeFilter"], Json::array({"MedicationRequest?status=active",
                                                     "Observation?status=amended%2Cpreliminary"}))
      << k.dump();
  int observations = 0, kept_observations = 0;
  ExpectDestinationHolds(kGeneratedTypes, [&](const Json& r) {
    if (r["resourceType"] == "MedicationRequest") return r["status"] == "active";
    if (r["resourceType"] == "Observation") {
      ++observations;
      bool kept = r["status"] == "amended" || r["status"] == "preliminary";
      kept_observations += kept;
      return kept;
    }
    return true;
  });
  EXPECT_GT(kept_observations, 0);             // the filter selected something ...
  EXPECT_LT(kept_observations, observations);  // ... and left something out
}

// Updates three Patients and deletes three Observations now; returns their ids.
std::pair<std::vector<std::string>, std::vector<std::string>> UpdateAndDelete(FhirServer& source) {
  auto page = Json::parse(source.Get("/Patient?_count=3").body);
  std::vector<std::string> updated, deleted;
  for (auto& e : page["entry"]) {
    Json r = e["resource"];
    r["name"] = Json::array({{{"family", "Updated"}}});
    updated.push_back(r["id"]);
    EXPECT_LT(source.Put("/Patient/" + updated.back(), r.dump()).status, 300);
  }
  auto obs = Json::parse(source.Get("/Observation?_count=3").body);
  Json deletes = {{"resourceType", "Bundle"}, {"type", "batch"}, {"entry", Json::array()}};
  for (auto& e : obs["entry"]) {
    deleted.push_back(e["resource"]["id"]);
    deletes["entry"].push_back(
        {{"request", {{"method", "DELETE"}, {"url", "Observation/" + deleted.back()}}}});
  }
  EXPECT_EQ(source.Post("", deletes.dump()).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past a 1s safety lag
  return {updated, deleted};
}

TEST_F(BulkVariantsTest, AssociatedDataAndExtraParamsReachTheServer) {
  auto [updated, deleted] = UpdateAndDelete(source);
  std::string state = dir + "/assoc.db";
  auto run = Bulk(state, {"bulk.include_associated_data=_history,_deleted",
                          "bulk.extra_params=_isParallel=true", "migration.safety_lag=1s",
                          "migration.propagate_deletes=true"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json k = LastKickoff();
  EXPECT_EQ(k["params"]["includeAssociatedData"], Json::array({"_history", "_deleted"}))
      << k.dump();
  EXPECT_EQ(k["params"]["_isParallel"], Json::array({"true"})) << k.dump();
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  for (const auto& id : deleted) {
    EXPECT_EQ(destination.Get("/Observation/" + id).status, 404) << id;
  }
  for (const auto& id : updated) {
    // _history: both versions arrived, the update last.
    auto history = Json::parse(destination.Get("/Patient/" + id + "/_history").body);
    EXPECT_EQ(history["total"].get<int>(), 2) << id;
  }
}

// Regression: the deleted versions that includeAssociatedData=_deleted adds to
// output[] (marked with the deleted-state meta extension) were PUT like
// resources, so the destination got resources the source had deleted (and,
// with propagate_deletes, created them only to delete them again). Azure lists
// deletions that way (deletedInOutputOnly); a server following the Bulk Data
// IG lists them in deleted[] only, never also in output[], and the tool
// records them from there.
TEST_F(BulkVariantsTest, DeletedVersionsInTheOutputAreNotLoadedAsResources) {
  auto [updated, deleted] = UpdateAndDelete(source);
  struct Case {
    bool azure;
    bool propagate;
  };
  for (const Case& c : {Case{false, false}, Case{false, true}, Case{true, false}}) {
    SCOPED_TRACE(std::string(c.azure ? "deletions in output[]" : "deletions in deleted[]") +
                 (c.propagate ? ", propagate_deletes" : ""));
    destination.Reset();
    source.SetFaults(c.azure ? R"({"retryAfterSeconds":0,"deletedInOutputOnly":true})"
                             : R"({"retryAfterSeconds":0})");
    std::string state =
        dir + "/deleted-" + std::to_string(c.azure) + std::to_string(c.propagate) + ".db";
    auto run = Bulk(
        state, {"bulk.include_associated_data=_deleted", "migration.safety_lag=1s",
                std::string("migration.propagate_deletes=") + (c.propagate ? "true" : "false")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    if (c.azure) {
      EXPECT_NE(run.err.find("deleted versions (marked soft-deleted) were not loaded"),
                std::string::npos)
          << run.err;
    } else {
      EXPECT_EQ(run.err.find("marked soft-deleted"), std::string::npos)
          << "a resource in deleted[] was also in output[]\n"
          << run.err;
      std::set<std::string> recorded;
      auto store = Store(state);
      for (const auto& w : *store->ListWindows()) {
        for (const auto& d : *store->ListDeletions(w.id)) {
          EXPECT_EQ(d.applied, c.propagate) << d.resource_id;
          recorded.insert(d.resource_type + "/" + d.resource_id);
        }
      }
      for (const auto& id : deleted) EXPECT_EQ(recorded.count("Observation/" + id), 1u) << id;
    }
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    for (const auto& id : deleted) {
      EXPECT_EQ(destination.Get("/Observation/" + id).status, 404) << id;
    }
    EXPECT_EQ(Stats(destination)["tombstones"].get<int>(), 0);  // never created, never deleted
  }
}

// Azure lists deletions only as soft-deleted versions in output[] (no
// deleted[]). With propagate_deletes they delete on the destination, in order
// with the resource's other versions: a resource deleted and created again in
// the same window stays. (They were skipped, so the destination kept every
// resource the source had deleted.)
TEST_F(BulkVariantsTest, DeletedVersionsInTheOutputDeleteWhenDeletesArePropagated) {
  source.SetFaults(R"({"retryAfterSeconds":0,"deletedInOutputOnly":true})");
  for (std::string assoc : {"_deleted", "_history,_deleted"}) {
    SCOPED_TRACE(assoc);
    destination.Reset();
    std::string state = dir + "/azure-deletes-" + std::to_string(assoc.size()) + ".db";
    std::vector<std::string> o = {"bulk.include_associated_data=" + assoc,
                                  "migration.safety_lag=1s", "migration.propagate_deletes=true"};
    auto first = Bulk(state, o);
    ASSERT_EQ(first.exit_code, 0) << first.err;

    // Deleted and created again before the next window is exported.
    auto obs = Json::parse(source.Get("/Observation?_count=4").body);
    ASSERT_EQ(obs["entry"].size(), 4u);
    Json recreated = obs["entry"][3]["resource"];
    std::string recreated_id = recreated["id"];
    ASSERT_LT(source.Delete("/Observation/" + recreated_id).status, 300);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    recreated["status"] = "amended";
    ASSERT_LT(source.Put("/Observation/" + recreated_id, recreated.dump()).status, 300);
    auto [updated, deleted] = UpdateAndDelete(source);  // the first three Observations

    auto second = Bulk(state, o);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.err.find("were sent as deletes"), std::string::npos) << second.err;
    EXPECT_TRUE(Stats(source)["kickoffs"].back()["query"].dump().find("_since") !=
                std::string::npos);
    for (const auto& id : deleted) {
      EXPECT_EQ(destination.Get("/Observation/" + id).status, 404) << id;
    }
    auto kept = destination.Get("/Observation/" + recreated_id);
    EXPECT_EQ(kept.status, 200) << recreated_id;
    EXPECT_EQ(Json::parse(kept.body).value("status", ""), "amended");
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  }
}

// Deletions an export reports (soft-deleted versions in output[], entries of
// deleted[]) were counted as loaded but never as read, so a window's log line
// read "loaded 36265 of 34633" and the progress line "594 read, 1294 loaded".
// Both sides now count them: no window loads more than it read.
TEST_F(BulkVariantsTest, ExportedDeletionsCountAsReadSoNoWindowLoadsMoreThanItRead) {
  auto [updated, deleted] = UpdateAndDelete(source);
  std::string state = dir + "/figures.db";
  auto run = Bulk(state, {"bulk.include_associated_data=_deleted", "migration.safety_lag=1s",
                          "migration.propagate_deletes=true"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const auto& id : deleted) {
    EXPECT_EQ(destination.Get("/Observation/" + id).status, 404) << id;
  }
  auto store = Store(state);
  int64_t read = 0, loaded = 0;
  for (const auto& w : *store->ListWindows()) {
    EXPECT_LE(w.resources_loaded + w.resources_failed, w.resources_extracted) << w.id;
    read += w.resources_extracted;
    loaded += w.resources_loaded;
  }
  EXPECT_GT(loaded, 0);
  std::smatch m;
  std::string err = run.err;
  int lines = 0;
  for (std::regex r(R"(window loaded: (\d+) read, (\d+) loaded, (\d+) failed)");
       std::regex_search(err, m, r); err = m.suffix()) {
    ++lines;
    EXPECT_LE(std::stoll(m[2]) + std::stoll(m[3]), std::stoll(m[1])) << m[0];
  }
  EXPECT_GE(lines, 1) << run.err;
  ASSERT_TRUE(std::regex_search(
      run.err, m,
      std::regex(R"(progress: done, .* ([\d,]+) loaded, ([\d,]+) failed, ([\d,]+) read)")))
      << run.err;
  auto number = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    return std::stoll(s);
  };
  EXPECT_EQ(number(m[1]), loaded) << m[0];
  EXPECT_EQ(number(m[3]), read) << m[0];
}

// ---- 2. credentials inside a real export -----------------------------------------------------

class BulkCredentialTest : public BulkVariantsTest {
 protected:
  // The source wants a static bearer token; the tool has it.
  std::vector<std::string> TokenOverrides(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"source.auth.kind=bearer",
                                  "source.auth.token_env=FM_BV_STATIC_TOKEN"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }
  void Arm(const std::string& extra_switches) {
    source.SetFaults(
        std::string(R"({"retryAfterSeconds":0,"maxLinesPerFile":200,"bearerToken":")") +
        kStaticToken + "\"," + extra_switches + "}");
  }
  std::string OtherOrigin() { return other.url(""); }

  // The window failed, nothing was loaded, the watermark did not move.
  void ExpectNothingLoaded(const std::string& state) {
    auto store = Store(state);
    auto windows = *store->ListWindows();
    ASSERT_FALSE(windows.empty());
    for (const auto& w : windows) {
      EXPECT_NE(w.status, store::WindowStatus::kLoaded);
      EXPECT_GE(w.attempts, 1);
      for (const auto& f : *store->ListFiles(w.id)) EXPECT_NE(f.status, store::FileStatus::kLoaded);
    }
    EXPECT_FALSE(store->GetMigration()->watermark.has_value());
    EXPECT_EQ(Stats(destination)["totalResources"].get<int>(), 0);
  }

  void ExpectNoTokenIn(const RunResult& run) {
    EXPECT_EQ(run.err.find(kStaticToken), std::string::npos);
    EXPECT_EQ(run.out.find(kStaticToken), std::string::npos);
  }

  std::atomic<bool> forward{false};  // act as storage: serve presigned files from the source
  LoopbackServer other{[this](const LoopbackRequest& r) -> LoopbackResponse {
    if (!forward || !base::StartsWith(r.target, "/fhir/$export-file/")) return {.status = 404};
    auto reply = source.Get(r.target.substr(5));  // presigned: needs no token
    return {.status = reply.status,
            .headers = {{"Content-Type", "application/fhir+ndjson"}},
            .body = reply.body};
  }};
};

TEST_F(BulkCredentialTest, StatusUrlOnAnotherOriginIsRefusedUnsent) {
  Arm(R"("offOriginStatus":")" + OtherOrigin() + "\"");
  std::string state = dir + "/offstatus.db";
  auto run = Bulk(state, TokenOverrides({"migration.max_attempts=2"}));
  EXPECT_NE(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("source export status URL: refusing"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("security.allowed_origins"), std::string::npos) << run.err;
  EXPECT_EQ(other.request_count(), 0u);
  ExpectNothingLoaded(state);
  ExpectNoTokenIn(run);
}

TEST_F(BulkCredentialTest, FileUrlsOnAnotherOriginAreRefusedUnsentEvenWithRequiresAccessToken) {
  Arm(R"("offOriginFiles":")" + OtherOrigin() + "\"");
  std::string state = dir + "/offfiles.db";
  auto run = Bulk(state, TokenOverrides({"migration.max_attempts=2"}));
  EXPECT_NE(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("source export file URL: refusing"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("security.allowed_origins"), std::string::npos) << run.err;
  EXPECT_EQ(other.request_count(), 0u);
  ExpectNothingLoaded(state);
  ExpectNoTokenIn(run);
  // The manifest did say requiresAccessToken: true.
  auto windows = *Store(state)->ListWindows();
  ASSERT_FALSE(windows.empty());
  EXPECT_TRUE(Json::parse(windows[0].manifest_json)["requiresAccessToken"].get<bool>());
}

TEST_F(BulkCredentialTest, FileRedirectToAnOriginNotAllowedIsRefusedUnsent) {
  forward = true;
  Arm(R"("redirectFiles":")" + OtherOrigin() + "\"");
  std::string state = dir + "/redirect-refused.db";
  auto run = Bulk(state, TokenOverrides({"migration.max_attempts=2"}));
  EXPECT_NE(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("redirect"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("security.allowed_origins"), std::string::npos) << run.err;
  EXPECT_EQ(other.request_count(), 0u);
  ExpectNothingLoaded(state);
  ExpectNoTokenIn(run);
}

TEST_F(BulkCredentialTest, FileRedirectToAnAllowedStorageOriginIsFollowedWithoutTheToken) {
  forward = true;
  Arm(R"("redirectFiles":")" + OtherOrigin() + "\"");
  std::string state = dir + "/redirect-allowed.db";
  auto run = Bulk(state, TokenOverrides({"security.allowed_origins=" + OtherOrigin()}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectNoTokenIn(run);
  auto requests = other.requests();
  ASSERT_GT(requests.size(), 0u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.header("Authorization"), nullptr) << r.target;
    EXPECT_NE(r.query().find("sig="), std::string::npos) << r.target;
  }
  // Every file went through the redirect: the first hop carried the token.
  auto stats = Stats(source);
  EXPECT_EQ(stats["tokenRejections"].size(), 0u) << stats["tokenRejections"].dump();
  source.SetFaults("{}");
  auto diffs = CompareServers(source, destination, kGeneratedTypes);
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
}

// ---- 3. token expiry during a long export and its downloads ----------------------------------

std::string HexHmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

class TokenExpiryTest : public BulkVariantsTest {
 protected:
  // client_credentials endpoint: checks the client, mints a token the server
  // accepts for `lifetime` and announces `announced` seconds.
  LoopbackResponse Token(const LoopbackRequest& r) {
    std::map<std::string, std::string> form;
    for (auto pair : base::Split(r.body, '&')) {
      auto eq = pair.find('=');
      if (eq != std::string_view::npos) {
        form[base::UrlDecode(pair.substr(0, eq))] = base::UrlDecode(pair.substr(eq + 1));
      }
    }
    if (form["grant_type"] != "client_credentials" || form["client_id"] != "migrator" ||
        form["client_secret"] != kClientSecret) {
      return {.status = 400,
              .headers = {{"Content-Type", "application/json"}},
              .body = R"({"error":"invalid_client"})"};
    }
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::string nonce = "n" + std::to_string(++issued);
    std::string claims = std::to_string(now_ms + lifetime_ms.count()) + "." + nonce;
    std::string token = claims + "." + HexHmac(kTokenKey, claims);
    {
      std::lock_guard lock(mu);
      tokens.push_back(token);
    }
    return {.status = 200,
            .headers = {{"Content-Type", "application/json"}},
            .body = Json{{"access_token", token},
                         {"token_type", "Bearer"},
                         {"expires_in", announced.count()}}
                        .dump()};
  }

  // A slow export (polls for ~6 s) with slow, token-protected downloads
  // (requiresAccessToken: true) under tokens that live 3 seconds.
  void MigrateUnderShortTokens() {
    source.SetFaults(std::string(R"({"retryAfterSeconds":1,"slowExportPolls":6,)") +
                     R"("maxLinesPerFile":25,"downloadDelayMs":250,"hmacTokens":")" + kTokenKey +
                     "\"}");
    std::string state = dir + "/tokens.db";
    auto run = Bulk(
        state,
        {"source.auth.kind=client_credentials",
         "source.auth.token_url=" + token_server.url("/token"), "source.auth.client_id=migrator",
         "source.auth.scope=system/*.read", "source.auth.client_secret_env=FM_BV_CLIENT_SECRET",
         "bulk.parallel_downloads=2", "bulk.max_poll_interval=1s", "migration.max_attempts=1"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    for (const auto& w : *Store(state)->ListWindows()) {
      EXPECT_EQ(w.attempts, 0) << "window " << w.id << " failed once: " << w.last_error;
    }
    EXPECT_GE(issued.load(), 3) << "tokens were not refreshed during the run";

    Json stats = Stats(source);
    std::map<std::string, int> expired_downloads;
    for (const auto& r : stats["tokenRejections"]) {
      EXPECT_EQ(r["reason"], "expired") << r.dump();  // never missing, never forged
      std::string path = r["path"];
      if (base::StartsWith(path, "/fhir/$export-file/")) ++expired_downloads[path];
    }
    for (const auto& [path, n] : expired_downloads) {
      EXPECT_LE(n, 1) << path << " was sent with an expired token " << n << " times";
    }
    std::lock_guard lock(mu);
    for (const auto& t : tokens) {
      EXPECT_EQ(run.err.find(t), std::string::npos) << "the log holds a token";
    }
    EXPECT_EQ(run.err.find(kClientSecret), std::string::npos);
    source.SetFaults("{}");
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
    rejections = stats["tokenRejections"].size();
  }

  std::chrono::milliseconds lifetime_ms{3000};
  std::chrono::seconds announced{3};
  std::atomic<int> issued{0};
  size_t rejections = 0;
  std::mutex mu;
  std::vector<std::string> tokens;
  LoopbackServer token_server{[this](const LoopbackRequest& r) { return Token(r); }};
};

TEST_F(TokenExpiryTest, TokensExpiringDuringASlowExportAndItsDownloadsAreRenewed) {
  MigrateUnderShortTokens();
}

// The server ends tokens before the announced expires_in (clock skew,
// revocation): the tool sees 401s, renews and retries once.
TEST_F(TokenExpiryTest, TokensEndingBeforeTheAnnouncedExpiryAreRenewedAfterOne401) {
  announced = std::chrono::seconds(10);
  MigrateUnderShortTokens();
  EXPECT_GT(rejections, 0u) << "the server never saw an expired token: the test proves nothing";
}

}  // namespace
}  // namespace fm::harness
