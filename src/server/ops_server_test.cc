// The operator HTTP server over a real socket: routes, formats, loopback.
#include "server/ops_server.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "env/clock.h"
#include "http/transport.h"

namespace fm::server {
namespace {

http::Response Get(const std::string& url) {
  static auto transport = http::NewCurlTransport({});
  http::Request r;
  r.url = url;
  auto resp = transport->Send(r);
  EXPECT_TRUE(resp.ok()) << url;
  return resp.ok() ? *resp : http::Response{};
}

TEST(OpsServer, ServesMetricsStatusHealthAndTheDashboard) {
  auto clock = env::NewSystemClock();
  MetricsSink metrics;
  metrics.OnResourcesExtracted(1, "Patient", 10);
  metrics.OnBatchLoaded({1, "Patient", 9, 1});
  store::Failure f;
  f.resource_type = "Patient";
  metrics.OnResourceFailed(f);
  metrics.OnRetryScheduled("http://x", base::Millis(1500), "429 Too Many Requests");
  metrics.OnRetryScheduled("http://x", base::Millis(100), "connection reset");
  metrics.OnWatermark(clock->Now() - std::chrono::seconds(90));
  auto store = store::OpenSqliteStateStore({":memory:"}).value();
  OpsSources sources;
  sources.metrics = &metrics;
  sources.clock = clock.get();
  sources.status = [&] { return GatherStatus(*store, clock->Now()); };
  sources.bytes_staged = [] { return int64_t{4242}; };
  std::string bound;
  auto server = StartOpsServer(sources, "127.0.0.1:0", &bound);
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  EXPECT_EQ(bound, "127.0.0.1:" + std::to_string((*server)->port()));
  std::string base = "http://" + bound;

  auto health = Get(base + "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");

  auto m = Get(base + "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("fhir_migrate_resources_exported_total{type=\"Patient\"} 10\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("fhir_migrate_resources_loaded_total{type=\"Patient\"} 9\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("fhir_migrate_resources_failed_total{type=\"Patient\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("fhir_migrate_retries_total 2\n"), std::string::npos);
  EXPECT_NE(m.body.find("fhir_migrate_bytes_staged 4242\n"), std::string::npos);
  EXPECT_NE(m.body.find("fhir_migrate_throttling_waits_total 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("fhir_migrate_throttling_wait_seconds_total 1.500\n"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE fhir_migrate_window_lag_seconds gauge\n"), std::string::npos);
  // Every sample line is NAME{labels} VALUE or NAME VALUE.
  std::istringstream lines(m.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0) continue;
    EXPECT_EQ(line.rfind("fhir_migrate_", 0), 0u) << line;
    auto sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    EXPECT_NO_THROW(std::stod(line.substr(sp + 1))) << line;
  }

  auto status = Get(base + "/status.json");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(nlohmann::json::parse(status.body)["schema"], "fhir-migrate.status/1");

  auto page = Get(base + "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<canvas id=\"chart\""), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the dashboard must not load anything";
  EXPECT_EQ(page.body.find("https://"), std::string::npos);

  EXPECT_EQ(Get(base + "/nope").status, 404);
  (*server)->Stop();
}

TEST(OpsServer, ListenParsing) {
  EXPECT_EQ(ParseListen("9464").value(), std::make_pair(std::string("127.0.0.1"), 9464));
  EXPECT_EQ(ParseListen("localhost:0").value(), std::make_pair(std::string("127.0.0.1"), 0));
  EXPECT_EQ(ParseListen("0.0.0.0:80").value(), std::make_pair(std::string("0.0.0.0"), 80));
  EXPECT_FALSE(ParseListen("host:abc").ok());
  EXPECT_FALSE(ParseListen("1.2.3.4:70000").ok());
}

TEST(CountingTransport, CountsByServerAndStatus) {
  // Through the ops server itself: a real exchange.
  auto clock = env::NewSystemClock();
  MetricsSink metrics;
  OpsSources sources;
  sources.metrics = &metrics;
  sources.clock = clock.get();
  std::string bound;
  auto server = StartOpsServer(sources, "127.0.0.1:0", &bound).value();
  auto curl = http::NewCurlTransport({});
  http::CountingTransport counting(*curl);
  counting.AddServer("source", "http://" + bound + "/healthz");
  http::Request r;
  r.url = "http://" + bound + "/healthz";
  ASSERT_TRUE(counting.Send(r).ok());
  r.url = "http://" + bound + "/missing";
  ASSERT_TRUE(counting.Send(r).ok());
  r.url = "http://127.0.0.1:9/x";
  r.connect_timeout = base::Millis(500);
  EXPECT_FALSE(counting.Send(r).ok());
  auto snap = counting.Snapshot();
  EXPECT_EQ((snap[{"source", "200"}]), 1);
  EXPECT_EQ((snap[{"other", "404"}]), 1);
  EXPECT_EQ((snap[{"other", "error"}]), 1);
  std::string text = metrics.Render(clock->Now(), &counting, 0);
  EXPECT_NE(text.find("fhir_migrate_http_requests_total{server=\"source\",status=\"200\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace fm::server
