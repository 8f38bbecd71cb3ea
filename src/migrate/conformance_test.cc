#include "migrate/conformance.h"

#include <gtest/gtest.h>

#include "migrate/planner.h"
#include "migrate/rest_loader.h"
#include "migrate/runner.h"
#include "migrate/search_extractor.h"
#include "migrate/source_probe.h"
#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

std::string SearchParam(const std::string& id, const std::string& url, const char* lu) {
  return R"({"resourceType":"SearchParameter","id":")" + id + R"(","meta":{"lastUpdated":")" + lu +
         R"("},"url":")" + url + R"(","name":")" + id + R"(","status":"active","code":")" + id +
         R"(","base":["Patient"],"type":"token","expression":"Patient.extension"})";
}

TEST(ConformanceTest, CustomSearchParametersAreCopiedBeforeTheFirstWindow) {
  World w;
  w.src.Seed(SearchParam("custom-race", "http://example.org/SearchParameter/race",
                         "2020-01-01T00:00:00.000Z"));
  w.src.Seed(SearchParam("Patient-name", "http://hl7.org/fhir/SearchParameter/Patient-name",
                         "2020-01-01T00:00:00.000Z"));
  w.src.Seed(Patient("p1", "2023-05-01T00:00:00.000Z"));
  auto e = w.MakeEngine();
  ConformanceCopier copier(ConformanceOptions{}, w.source, e->loader, *w.store, w.sink, w.clock);
  e->runner.SetConformanceCopier(&copier);
  ASSERT_TRUE(e->runner.RunOnce().ok());
  EXPECT_TRUE(w.dst.Get("SearchParameter", "custom-race").has_value());
  EXPECT_FALSE(w.dst.Get("SearchParameter", "Patient-name").has_value());
  EXPECT_TRUE(w.dst.Get("Patient", "p1").has_value());
  // The next run copies only what changed since.
  int64_t before = w.src.requests();
  auto again = copier.Copy();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_GT(w.src.requests(), before);
}

TEST(PauseTest, NoWindowStartsDuringTheDailyPause) {
  World w;
  w.clock.Set(At("2024-01-01T09:30:00Z"));
  w.src.Seed(Patient("p1", "2023-12-01T00:00:00.000Z"));
  w.options.run.pause_from_hour = 8;
  w.options.run.pause_to_hour = 17;
  auto r = w.MakeEngine()->runner.RunOnce();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_GE(w.clock.Now(), At("2024-01-01T17:00:00Z"));
  EXPECT_TRUE(w.dst.Get("Patient", "p1").has_value());
}

// migration.pause_in_flight = stop: loading stops when the pause begins and
// starts again when it ends; nothing is sent inside the pause, nothing lost.
// Every Bundle the destination receives moves the clock on by 20 seconds.
TEST(PauseTest, WithStopInFlightWorkStopsWhenThePauseBeginsAndResumesAfterIt) {
  World w;
  w.clock.Set(At("2024-01-01T07:58:00Z"));
  for (int i = 0; i < 40; ++i) {
    w.src.Seed(Patient("p" + std::to_string(i), "2023-12-01T00:00:00.000Z"));
  }
  w.options.plan.window = std::chrono::hours(24 * 365);
  w.options.run.pause_from_hour = 8;
  w.options.run.pause_to_hour = 17;
  w.options.run.pause_stops_in_flight = true;
  std::vector<base::Instant> bundles_at;
  w.dst.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    if (r.method == "POST") {
      bundles_at.push_back(w.clock.Now());
      w.clock.Advance(std::chrono::seconds(20));
    }
    return std::nullopt;
  });
  auto stop_clock = StopDuringPause(w.clock, w.options.run);
  fhir::Client source("source", w.src.base_url(), w.transport, w.clock);
  fhir::Client destination("destination", w.dst.base_url(), w.transport, *stop_clock);
  FhirSourceProbe probe(source, w.options.plan.types);
  Planner planner(w.options.plan, *w.store, probe, w.clock, w.sink);
  SearchExtractor extractor(source, w.options.search, w.sink);
  RestLoader loader(destination, *w.store, w.sink, *stop_clock, w.options.rest, w.src.base_url());
  Runner runner(w.options, *w.store, planner, extractor, loader, w.sink, w.clock);
  auto r = runner.RunOnce();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  size_t before = 0, after = 0;
  for (auto t : bundles_at) {
    EXPECT_FALSE(PauseEnds(w.options.run, t).has_value()) << base::FormatInstant(t);
    (t < At("2024-01-01T08:00:00Z") ? before : after) += 1;
  }
  EXPECT_GT(before, 0u);  // loading had started ...
  EXPECT_GT(after, 0u);   // ... stopped, and went on after 17:00
  EXPECT_GE(w.clock.Now(), At("2024-01-01T17:00:00Z"));
  w.ExpectDestinationEqualsSource();
}

TEST(PauseTest, PauseMayWrapMidnight) {
  RunOptions o;
  o.pause_from_hour = 22;
  o.pause_to_hour = 6;
  EXPECT_EQ(PauseEnds(o, At("2024-01-01T23:00:00Z")), At("2024-01-02T06:00:00Z"));
  EXPECT_EQ(PauseEnds(o, At("2024-01-02T05:59:00Z")), At("2024-01-02T06:00:00Z"));
  EXPECT_FALSE(PauseEnds(o, At("2024-01-02T06:00:00Z")).has_value());
  EXPECT_FALSE(PauseEnds(o, At("2024-01-02T12:00:00Z")).has_value());
  o.pause_to_hour = 22;
  EXPECT_FALSE(PauseEnds(o, At("2024-01-02T23:00:00Z")).has_value());
}

}  // namespace
}  // namespace fm::migrate
