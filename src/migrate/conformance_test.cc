#include "migrate/conformance.h"

#include <gtest/gtest.h>

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
