// Scrapes /metrics while a real migration runs between two test FHIR servers:
// the counters move while it runs and, once it has caught up, they match the
// final counts of `status`.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/live_run.h"

namespace fm::harness {
namespace {

// name{labels} → value, for every sample of the exposition.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double SumOf(const std::map<std::string, double>& m, const std::string& name) {
  double sum = 0;
  for (const auto& [k, v] : m) {
    if (k == name || k.rfind(name + "{", 0) == 0) sum += v;
  }
  return sum;
}

TEST(MetricsTest, CountersMoveDuringARunAndMatchTheFinalCounts) {
  FhirServer source("source");
  FhirServer destination("destination");
  std::string ndjson = Generate(8000, 11, "2021-01-01", "2024-01-01");
  int64_t total = std::count(ndjson.begin(), ndjson.end(), '\n');
  source.LoadNdjson(ndjson);
  std::string dir = TempDir("fm_metrics");
  LiveRun run(source, destination, dir,
              {"migration.window=30d", "rest.batch_size=20", "rest.concurrency=2",
               "search.page_size=50", "migration.poll_interval=1h"});

  std::vector<double> loaded_seen;
  nlohmann::json status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  bool done = false;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    auto m = HttpGet(run.base() + "/metrics");
    ASSERT_EQ(m.status, 200) << run.log();
    double loaded = SumOf(ParseMetrics(m.body), "fhir_migrate_resources_loaded_total");
    if (loaded_seen.empty() || loaded != loaded_seen.back()) loaded_seen.push_back(loaded);
    auto s = HttpGet(run.base() + "/status.json");
    ASSERT_EQ(s.status, 200);
    status = nlohmann::json::parse(s.body);
    int64_t status_loaded = 0;
    for (const auto& t : status["types"]) status_loaded += t["loaded"].get<int64_t>();
    done = status_loaded == total && status["windows"]["total"].get<int>() > 0 &&
           status["windows"]["loaded"] == status["windows"]["total"];
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(done) << "the run did not catch up: " << status.dump() << "\n" << run.log();
  // Counters moved: several distinct, increasing values before the end.
  ASSERT_GE(loaded_seen.size(), 3u) << "loaded_total was only ever seen at these values";
  for (size_t i = 1; i < loaded_seen.size(); ++i) EXPECT_GT(loaded_seen[i], loaded_seen[i - 1]);

  // Final scrape: the counters match the store's final counts.
  auto m = ParseMetrics(HttpGet(run.base() + "/metrics").body);
  EXPECT_EQ(SumOf(m, "fhir_migrate_resources_loaded_total"), static_cast<double>(total));
  EXPECT_EQ(SumOf(m, "fhir_migrate_resources_failed_total"), 0.0);
  for (const auto& t : status["types"]) {
    std::string key = "fhir_migrate_resources_exported_total{type=\"" + t["type"].get<std::string>() + "\"}";
    EXPECT_EQ(m[key], t["extracted"].get<double>()) << key;
  }
  EXPECT_EQ(SumOf(m, "fhir_migrate_resources_exported_total"), static_cast<double>(total));
  // One Bundle per 20 resources at least, each answered 200 by the destination.
  EXPECT_GE(m["fhir_migrate_http_requests_total{server=\"destination\",status=\"200\"}"],
            static_cast<double>(total) / 20);
  EXPECT_GT(m["fhir_migrate_http_requests_total{server=\"source\",status=\"200\"}"], 0);
  EXPECT_EQ(m["fhir_migrate_windows_total{event=\"loaded\"}"],
            status["windows"]["loaded"].get<double>());
  EXPECT_GT(m["fhir_migrate_watermark_timestamp_seconds"], 1.6e9);
  EXPECT_GT(m["fhir_migrate_window_lag_seconds"], 0);
  EXPECT_TRUE(m.count("fhir_migrate_retries_total"));
  EXPECT_TRUE(m.count("fhir_migrate_throttling_waits_total"));
  EXPECT_TRUE(m.count("fhir_migrate_bytes_staged"));
  EXPECT_EQ(HttpGet(run.base() + "/healthz").body, "ok\n");
  EXPECT_EQ(run.Stop(), 0) << "SIGTERM stops a run gracefully\n" << run.log();
}

}  // namespace
}  // namespace fm::harness
