#include "migrate/rest_loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "migrate/test_world.h"
#include "migrate/version_order.h"

namespace fm::migrate {
namespace {

Resource Res(const std::string& id, const std::string& json) { return {"Patient", id, json}; }

// Version `v` of Patient `id`, as an export with _history lists it: numbered
// versionId, lastUpdated one second per version, family "v<v>".
Resource Version(const std::string& id, int v) {
  std::string lu =
      "2023-01-01T00:00:" + std::string(v < 10 ? "0" : "") + std::to_string(v) + ".000Z";
  std::string json = R"({"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":")" +
                     std::to_string(v) + R"(","lastUpdated":")" + lu +
                     R"("},"name":[{"family":"v)" + std::to_string(v) + R"("}]})";
  return {"Patient", id, json, std::to_string(v), At(lu.c_str())};
}

// The versionIds (as sent) of every PUT of `Patient/id`, in the order applied.
std::vector<std::string> PutsOf(const testing::FakeFhirServer& server, const std::string& id) {
  std::vector<std::string> out;
  std::string prefix = "PUT Patient/" + id + " ";
  for (const auto& w : server.WriteLog()) {
    if (w.rfind(prefix, 0) == 0) out.push_back(w.substr(prefix.size()));
  }
  return out;
}

TEST(RestLoaderTest, LoadsEveryResourceKeepingIds) {
  World w;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  for (int i = 0; i < 7; ++i) {
    std::string id = "p" + std::to_string(i);
    ASSERT_TRUE(s->Consume(Res(id, Patient(id, "2023-01-01T00:00:00.000Z"))).ok());
  }
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, 7);
  EXPECT_EQ(w.dst.size(), 7u);
  EXPECT_TRUE(w.dst.Get("Patient", "p6").has_value());
}

TEST(RestLoaderTest, ARejectedEntryIsQuarantinedAndTheRestLoads) {
  World w;
  w.dst.SetOverride([&](const http::Request& req) -> std::optional<http::Response> {
    if (req.method != "POST" || req.body.find("\"bad\"") == std::string::npos) return std::nullopt;
    // The whole batch is answered by the fake; "bad" gets a 400 with an outcome.
    auto bundle = nlohmann::json::parse(req.body);
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : bundle["entry"]) {
      if (e["resource"]["id"] == "bad") {
        entries.push_back({{"response", {{"status", "400 Bad Request"},
                                         {"outcome", {{"resourceType", "OperationOutcome"},
                                                      {"issue", {{{"severity", "error"},
                                                                  {"code", "invalid"},
                                                                  {"diagnostics", "name is required"}}}}}}}}});
      } else {
        w.dst.Seed(e["resource"].dump());
        entries.push_back({{"response", {{"status", "201 Created"}}}});
      }
    }
    http::Response r;
    r.status = 200;
    r.body = nlohmann::json{{"resourceType", "Bundle"}, {"type", "batch-response"}, {"entry", entries}}.dump();
    return r;
  });
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  ASSERT_TRUE(s->Consume(Res("good1", Patient("good1", "2023-01-01T00:00:00.000Z"))).ok());
  ASSERT_TRUE(s->Consume(Res("bad", Patient("bad", "2023-01-01T00:00:00.000Z"))).ok());
  ASSERT_TRUE(s->Consume(Res("good2", Patient("good2", "2023-01-01T00:00:00.000Z"))).ok());
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, 2);
  EXPECT_EQ(totals->failed, 1);
  auto failures = *w.store->ListFailures(false, 10);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].resource_type, "Patient");
  EXPECT_EQ(failures[0].resource_id, "bad");
  EXPECT_EQ(failures[0].http_status, 400);
  EXPECT_NE(failures[0].reason.find("name is required"), std::string::npos);
}

TEST(RestLoaderTest, EntriesAnswered503AreResentWithBackoff) {
  World w;
  std::set<std::string> flaky = {"p1"};
  std::mutex mu;
  w.dst.SetOverride([&](const http::Request& req) -> std::optional<http::Response> {
    std::lock_guard lock(mu);
    if (req.method != "POST" || req.body.find("\"p1\"") == std::string::npos || !flaky.erase("p1")) {
      return std::nullopt;
    }
    auto bundle = nlohmann::json::parse(req.body);
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : bundle["entry"]) {
      if (e["resource"]["id"] == "p1") {
        entries.push_back({{"response", {{"status", "503"}}}});
      } else {
        w.dst.Seed(e["resource"].dump());
        entries.push_back({{"response", {{"status", "200 OK"}}}});
      }
    }
    http::Response r;
    r.status = 200;
    r.body = nlohmann::json{{"resourceType", "Bundle"}, {"type", "batch-response"}, {"entry", entries}}.dump();
    return r;
  });
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  ASSERT_TRUE(s->Consume(Res("p0", Patient("p0", "2023-01-01T00:00:00.000Z"))).ok());
  ASSERT_TRUE(s->Consume(Res("p1", Patient("p1", "2023-01-01T00:00:00.000Z"))).ok());
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, 2);
  EXPECT_TRUE(w.dst.Get("Patient", "p1").has_value());
  EXPECT_GT(w.clock.TotalSlept().count(), 0);
}

TEST(RestLoaderTest, ABundleRefusedAsAWholeIsSplitToIsolateTheBadEntry) {
  World w;
  w.dst.SetOverride([&](const http::Request& req) -> std::optional<http::Response> {
    if (req.method == "POST" && req.body.find("\"poison\"") != std::string::npos) {
      http::Response r;
      r.status = 400;
      r.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"bundle rejected"}]})";
      return r;
    }
    return std::nullopt;
  });
  w.options.rest.batch_size = 4;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  for (std::string id : {"a", "b", "poison", "c"}) {
    ASSERT_TRUE(s->Consume(Res(id, Patient(id, "2023-01-01T00:00:00.000Z"))).ok());
  }
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, 3);
  EXPECT_EQ(totals->failed, 1);
  EXPECT_EQ(w.store->ListFailures(false, 10)->at(0).resource_id, "poison");
}

TEST(RestLoaderTest, AbsoluteSourceReferencesBecomeRelative) {
  World w;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  ASSERT_TRUE(s->Consume({"Observation", "o1", Observation("o1", "2023-01-01T00:00:00.000Z")}).ok());
  ASSERT_TRUE(s->Finish().ok());
  auto stored = w.dst.Get("Observation", "o1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_NE(stored->find(R"("reference":"Patient/p1")"), std::string::npos) << *stored;
}

TEST(RestLoaderTest, UnauthorizedFailsTheWindow) {
  World w;
  w.dst.SetOverride([](const http::Request&) -> std::optional<http::Response> {
    http::Response r;
    r.status = 401;
    return r;
  });
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  ASSERT_TRUE(s->Consume(Res("p0", Patient("p0", "2023-01-01T00:00:00.000Z"))).ok());
  auto totals = s->Finish();
  ASSERT_FALSE(totals.ok());
  EXPECT_EQ(totals.error().kind, base::ErrorKind::kUnauthorized);
}

// An export with includeAssociatedData=_history holds several versions of one
// id. Loaded by several workers, two versions could sit in Bundles in flight
// at once, or in one batch Bundle whose entries the server may apply in any
// order, and an older version could land last and become current.
TEST(RestLoaderTest, VersionsOfOneResourceLandInOrderWhateverTheBatching) {
  World w;
  w.dst.SetApplyBatchesReversed(true);
  // No two Bundles in flight at once may hold the same resource: each Bundle
  // stays "in flight" a moment so that an overlap would be seen.
  std::mutex mu;
  std::multiset<std::string> in_flight;
  std::vector<std::string> overlaps;
  w.dst.SetOverride([&](const http::Request& req) -> std::optional<http::Response> {
    if (req.method != "POST") return std::nullopt;
    std::vector<std::string> ids;
    const auto bundle = nlohmann::json::parse(req.body);
    for (const auto& e : bundle["entry"]) {
      ids.push_back(e["request"]["url"]);
    }
    {
      std::lock_guard lock(mu);
      for (const auto& id : ids) {
        if (in_flight.count(id)) overlaps.push_back(id);
        in_flight.insert(id);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::lock_guard lock(mu);
    for (const auto& id : ids) in_flight.erase(in_flight.find(id));
    return std::nullopt;  // the fake applies it after the check
  });
  w.options.rest.concurrency = 4;
  w.options.rest.batch_size = 7;
  w.options.rest.queue_bundles = 4;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  constexpr int kIds = 30, kVersions = 6;
  // Half the ids list their versions back to back, half interleaved with
  // every other id (oldest first either way).
  for (int i = 0; i < kIds / 2; ++i) {
    for (int v = 1; v <= kVersions; ++v) {
      ASSERT_TRUE(s->Consume(Version("a" + std::to_string(i), v)).ok());
    }
  }
  for (int v = 1; v <= kVersions; ++v) {
    for (int i = 0; i < kIds / 2; ++i) {
      ASSERT_TRUE(s->Consume(Version("b" + std::to_string(i), v)).ok());
    }
  }
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, kIds * kVersions);
  EXPECT_EQ(totals->superseded, 0);
  EXPECT_TRUE(overlaps.empty()) << overlaps.size() << " overlaps, first " << overlaps.front();
  std::vector<std::string> oldest_first = {"1", "2", "3", "4", "5", "6"};
  for (const char* prefix : {"a", "b"}) {
    for (int i = 0; i < kIds / 2; ++i) {
      std::string id = prefix + std::to_string(i);
      EXPECT_EQ(PutsOf(w.dst, id), oldest_first) << id;
      auto stored = w.dst.Get("Patient", id);
      ASSERT_TRUE(stored.has_value()) << id;
      EXPECT_NE(stored->find(R"("family":"v6")"), std::string::npos) << id << ": " << *stored;
    }
  }
}

TEST(RestLoaderTest, AHistoryListedNewestFirstLeavesTheNewestVersionCurrent) {
  World w;
  w.options.rest.concurrency = 3;
  w.options.rest.batch_size = 4;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  for (int i = 0; i < 10; ++i) {
    for (int v = 4; v >= 1; --v) ASSERT_TRUE(s->Consume(Version("p" + std::to_string(i), v)).ok());
  }
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->loaded, 40);      // every version is accounted for
  EXPECT_EQ(totals->superseded, 30);  // ...but only the newest was sent
  for (int i = 0; i < 10; ++i) {
    std::string id = "p" + std::to_string(i);
    EXPECT_EQ(PutsOf(w.dst, id), std::vector<std::string>{"4"}) << id;
    EXPECT_NE(w.dst.Get("Patient", id)->find(R"("family":"v4")"), std::string::npos) << id;
  }
}

TEST(RestLoaderTest, AVersionACheckpointCoveredStillSupersedesOlderOnes) {
  World w;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  Resource done = Version("p1", 3);
  done.json.clear();
  s->AlreadyLoaded(done);
  ASSERT_TRUE(s->Consume(Version("p1", 2)).ok());
  ASSERT_TRUE(s->Consume(Version("p1", 4)).ok());
  ASSERT_TRUE(s->Finish().ok());
  EXPECT_EQ(PutsOf(w.dst, "p1"), std::vector<std::string>{"4"});
}

// A deleted version from an export (includeAssociatedData=_deleted) is a
// delete that carries its version: ordered like any version, so a delete
// older than a version already sent (the resource was re-created) is skipped,
// and a newer one is sent after it.
TEST(RestLoaderTest, AVersionedDeleteIsOrderedWithTheResourcesVersions) {
  World w;
  w.options.rest.batch_size = 10;
  RestLoader loader(w.destination, *w.store, w.sink, w.clock, w.options.rest, w.src.base_url());
  auto s = loader.Begin(1);
  auto deleted_at = [](const std::string& id, int v) {
    Resource d = Version(id, v);
    d.json.clear();
    return d;
  };
  // "recreated": v1, deleted as v2, re-created as v3 — listed newest first.
  ASSERT_TRUE(s->Consume(Version("recreated", 3)).ok());
  ASSERT_TRUE(s->Consume(deleted_at("recreated", 2)).ok());
  ASSERT_TRUE(s->Consume(Version("recreated", 1)).ok());
  // "gone": v1, then deleted as v2 — listed oldest first.
  ASSERT_TRUE(s->Consume(Version("gone", 1)).ok());
  ASSERT_TRUE(s->Consume(deleted_at("gone", 2)).ok());
  // A bare delete (deleted[]) has no version and is never skipped.
  ASSERT_TRUE(s->Consume(Version("bare", 5)).ok());
  ASSERT_TRUE(s->Consume(Resource{"Patient", "bare", ""}).ok());
  auto totals = s->Finish();
  ASSERT_TRUE(totals.ok()) << totals.error().ToString();
  EXPECT_EQ(totals->superseded, 2);  // recreated's delete and its v1
  const auto log = w.dst.WriteLog();
  auto count = [&](const std::string& line) { return std::count(log.begin(), log.end(), line); };
  EXPECT_EQ(count("DELETE Patient/recreated"), 0);
  EXPECT_EQ(PutsOf(w.dst, "recreated"), std::vector<std::string>{"3"});
  EXPECT_TRUE(w.dst.Get("Patient", "recreated").has_value());
  EXPECT_EQ(count("DELETE Patient/gone"), 1);
  EXPECT_FALSE(w.dst.Get("Patient", "gone").has_value());
  EXPECT_EQ(count("DELETE Patient/bare"), 1);
  EXPECT_FALSE(w.dst.Get("Patient", "bare").has_value());
}

TEST(VersionOrderTest, OrdersByLastUpdatedThenNumericVersionId) {
  Resource a = Version("x", 1), b = Version("x", 2);
  EXPECT_EQ(IsOlderVersion(a, b), true);
  EXPECT_EQ(IsOlderVersion(b, a), false);
  b.last_updated = a.last_updated;  // same instant: versionId decides
  EXPECT_EQ(IsOlderVersion(a, b), true);
  a.version_id = "f3c1";  // opaque ids at one instant: no order, both sent
  EXPECT_EQ(IsOlderVersion(a, b), false);
  a.last_updated.reset();
  EXPECT_EQ(IsOlderVersion(a, b), std::nullopt);
}

TEST(VersionOrderTest, RemembersAtLeastHalfItsCapacity) {
  VersionOrder order(4);
  auto superseded = [&](const std::string& id, int v) {
    return order.Superseded(id, Version(id, v));
  };
  EXPECT_FALSE(superseded("x", 5));
  EXPECT_FALSE(superseded("y", 1));
  EXPECT_TRUE(superseded("x", 4));  // two ids back: remembered
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_FALSE(superseded(id, 1));
  EXPECT_FALSE(superseded("x", 3));  // forgotten: the documented limit
}

TEST(VersionOrderTest, CapacityZeroRemembersNothingAndSkipsNothing) {
  VersionOrder order(0);
  EXPECT_FALSE(order.Superseded("x", Version("x", 5)));
  EXPECT_FALSE(order.Superseded("x", Version("x", 4)));
  order.Record("x", Version("x", 9));
  EXPECT_FALSE(order.Superseded("x", Version("x", 1)));
}

}  // namespace
}  // namespace fm::migrate
