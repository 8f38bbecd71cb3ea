#include "migrate/rest_loader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

Resource Res(const std::string& id, const std::string& json) { return {"Patient", id, json}; }

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

}  // namespace
}  // namespace fm::migrate
