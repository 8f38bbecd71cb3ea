#include "migrate/conformance.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

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

// The Bundles a destination received, each with the instant it arrived (the
// clock when its POST reached the fake). Every Bundle moves the clock on by
// `cost`, as if the destination took that long to answer it.
struct TimedDestination {
  std::mutex mu;
  std::vector<base::Instant> arrived;  // guarded by mu

  void Install(World& w, base::Millis cost) {
    w.dst.SetOverride([this, &w, cost](const http::Request& r) -> std::optional<http::Response> {
      if (r.method == "POST") {
        std::lock_guard lock(mu);
        arrived.push_back(w.clock.Now());
        w.clock.Advance(cost);
      }
      return std::nullopt;
    });
  }
};

// Runs one window of 40 Patients starting at 07:58, two minutes before an
// 08:00-17:00 pause, with migration.pause_in_flight = stop, and returns when
// the Bundles arrived. Every Bundle takes 20 s, so the pause begins while
// the window is loading.
std::vector<base::Instant> LoadAcrossThePause(World& w, int lanes) {
  w.clock.Set(At("2024-01-01T07:58:00Z"));
  for (int i = 0; i < 40; ++i) {
    w.src.Seed(Patient("p" + std::to_string(i), "2023-12-01T00:00:00.000Z"));
  }
  w.options.plan.window = std::chrono::hours(24 * 365);
  w.options.run.pause_from_hour = 8;
  w.options.run.pause_to_hour = 17;
  w.options.run.pause_stops_in_flight = true;
  w.options.rest.concurrency = lanes;
  TimedDestination destination_time;
  destination_time.Install(w, std::chrono::seconds(20));
  auto stop_clock = StopDuringPause(w.clock, w.options.run);
  fhir::Client source("source", w.src.base_url(), w.transport, w.clock);
  fhir::Client destination("destination", w.dst.base_url(), w.transport, *stop_clock);
  FhirSourceProbe probe(source, w.options.plan.types);
  Planner planner(w.options.plan, *w.store, probe, w.clock, w.sink);
  SearchExtractor extractor(source, w.options.search, w.sink);
  RestLoader loader(destination, *w.store, w.sink, *stop_clock, w.options.rest, w.src.base_url());
  Runner runner(w.options, *w.store, planner, extractor, loader, w.sink, w.clock);
  auto r = runner.RunOnce();
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  w.dst.SetOverride(nullptr);
  std::lock_guard lock(destination_time.mu);
  return destination_time.arrived;
}

// migration.pause_in_flight = stop: loading stops when the pause begins and
// starts again when it ends; nothing is sent inside the pause, nothing lost.
// With one lane, each Bundle is sent after the previous one was answered, so
// the instant it reaches the destination is the instant the loader decided
// to send it. (This test once ran two lanes and failed about one run in six:
// one lane checked the clock at 07:59:40, the other lane's Bundle then moved
// it to 08:00:00, and the first lane's Bundle "arrived" inside the pause. Two
// lanes are covered by the next test, with the bound that holds for them.)
TEST(PauseTest, WithStopInFlightWorkStopsWhenThePauseBeginsAndResumesAfterIt) {
  World w;
  auto arrived = LoadAcrossThePause(w, /*lanes=*/1);
  size_t before = 0, resumed = 0;
  for (auto t : arrived) {
    EXPECT_FALSE(PauseEnds(w.options.run, t).has_value()) << base::FormatInstant(t);
    before += t < At("2024-01-01T08:00:00Z");
    resumed += t >= At("2024-01-01T17:00:00Z");
  }
  EXPECT_EQ(before, 6u);   // 07:58:00, 07:58:20, ... 07:59:40: then the pause began
  EXPECT_GT(resumed, 0u);  // ... and loading went on after 17:00
  EXPECT_GE(w.clock.Now(), At("2024-01-01T17:00:00Z"));
  w.ExpectDestinationEqualsSource();
}

// Several lanes share the clock: a lane that checked it at 07:59:50 may see
// its Bundle arrive after another lane's answer moved the clock past 08:00.
// That Bundle was in flight when the pause began, which is allowed; none may
// start inside it. Every lane's last Bundle started before 08:00 and moved the
// clock by at most 20 s, so whatever the interleaving, nothing arrives later
// than 08:00 + 20 s x (lanes - 1) until the pause is over.
TEST(PauseTest, WithStopInFlightEveryLaneStopsWhenThePauseBegins) {
  World w;
  constexpr int kLanes = 3;
  auto arrived = LoadAcrossThePause(w, kLanes);
  const base::Instant last_in_flight =
      At("2024-01-01T08:00:00Z") + std::chrono::seconds(20 * (kLanes - 1));
  size_t before = 0, resumed = 0;
  for (auto t : arrived) {
    EXPECT_TRUE(t < last_in_flight || t >= At("2024-01-01T17:00:00Z")) << base::FormatInstant(t);
    before += t < At("2024-01-01T08:00:00Z");
    resumed += t >= At("2024-01-01T17:00:00Z");
  }
  EXPECT_GT(before, 0u);
  EXPECT_GT(resumed, 0u);
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
