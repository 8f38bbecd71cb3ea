#include "migrate/resend.h"

#include <gtest/gtest.h>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

// The destination refuses any Bundle that holds Patient/bad, as a server
// refuses a whole Bundle for one invalid entry.
void RefuseBad(World& w) {
  w.dst.SetOverride([](const http::Request& r) -> std::optional<http::Response> {
    if (r.method != "POST" || r.body.find("Patient/bad") == std::string::npos) return std::nullopt;
    http::Response refused;
    refused.status = 400;
    refused.body =
        R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",)"
        R"("diagnostics":"Patient.name is required"}]})";
    return refused;
  });
}

// Refused resources could not be sent again: the quarantine only grew. The
// resender reads each one's current version from the source and reports,
// per resource, what the destination answered.
TEST(ResendTest, EachResourceGetsItsOwnOutcomeFromTheSourcesCurrentVersion) {
  World w;
  w.src.Seed(Patient("ok1", "2023-01-01T00:00:00.000Z", "Now"));
  w.src.Seed(Patient("bad", "2023-01-01T00:00:00.000Z"));
  w.src.Seed(Observation("ok2", "2023-01-02T00:00:00.000Z"));
  RefuseBad(w);
  std::vector<ResendOutcome> outcomes;
  ResendOptions options;
  options.batch_size = 10;
  options.source_base_url = w.src.base_url();
  Resender resender(w.source, w.destination, options,
                    [&](const ResendOutcome& o) { outcomes.push_back(o); });
  ASSERT_TRUE(resender.Add("Patient", "ok1").ok());
  ASSERT_TRUE(resender.Add("Patient", "bad").ok());
  ASSERT_TRUE(resender.Add("Observation", "ok2").ok());
  ASSERT_TRUE(resender.Finish().ok());
  ASSERT_EQ(outcomes.size(), 3u);
  std::map<std::string, ResendOutcome> by_id;
  for (const auto& o : outcomes) by_id[o.type + "/" + o.id] = o;
  EXPECT_EQ(by_id["Patient/ok1"].kind, ResendOutcome::Kind::kSent);
  EXPECT_EQ(by_id["Observation/ok2"].kind, ResendOutcome::Kind::kSent);
  EXPECT_EQ(by_id["Patient/bad"].kind, ResendOutcome::Kind::kRefused);
  EXPECT_EQ(by_id["Patient/bad"].http_status, 400);
  EXPECT_NE(by_id["Patient/bad"].reason.find("Patient.name is required"), std::string::npos)
      << by_id["Patient/bad"].reason;
  EXPECT_FALSE(by_id["Patient/bad"].delivered());
  ASSERT_TRUE(w.dst.Get("Patient", "ok1").has_value());
  EXPECT_NE(w.dst.Get("Patient", "ok1")->find("Now"), std::string::npos);
  // References to the source were made relative, as the REST loader does.
  auto observation = w.dst.Get("Observation", "ok2");
  ASSERT_TRUE(observation.has_value());
  EXPECT_EQ(observation->find("http://src.test/fhir/"), std::string::npos) << *observation;
  EXPECT_FALSE(w.dst.Get("Patient", "bad").has_value());
}

TEST(ResendTest, AResourceGoneFromTheSourceIsDeletedOnlyWithPropagateDeletes) {
  for (bool propagate : {false, true}) {
    World w;
    w.dst.Seed(Patient("gone", "2023-01-01T00:00:00.000Z"));
    std::vector<ResendOutcome> outcomes;
    ResendOptions options;
    options.propagate_deletes = propagate;
    Resender resender(w.source, w.destination, options,
                      [&](const ResendOutcome& o) { outcomes.push_back(o); });
    ASSERT_TRUE(resender.Add("Patient", "gone").ok());
    ASSERT_TRUE(resender.Finish().ok());
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_TRUE(outcomes[0].delivered());
    if (propagate) {
      EXPECT_EQ(outcomes[0].kind, ResendOutcome::Kind::kDeleted);
      EXPECT_FALSE(w.dst.Get("Patient", "gone").has_value());
    } else {
      EXPECT_EQ(outcomes[0].kind, ResendOutcome::Kind::kGoneOnSource);
      EXPECT_TRUE(w.dst.Get("Patient", "gone").has_value());
    }
  }
}

TEST(ResendTest, AnUnreachableDestinationStopsTheResending) {
  World w;
  w.src.Seed(Patient("p1", "2023-01-01T00:00:00.000Z"));
  w.dst.SetOverride([](const http::Request&) -> std::optional<http::Response> {
    http::Response down;
    down.status = 503;
    return down;
  });
  int heard = 0;
  Resender resender(w.source, w.destination, {}, [&](const ResendOutcome&) { ++heard; });
  ASSERT_TRUE(resender.Add("Patient", "p1").ok());
  auto finished = resender.Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(heard, 0);  // no outcome claimed for what was never answered
}

// `failures retry` and `verify --full --fix` record what happened: every
// failure of a resource gets the attempt, a delivered one is resolved, and a
// resource the destination refuses that was not quarantined yet is.
TEST(ResendTest, OutcomesAreRecordedAsAttemptsOfTheResourcesFailures) {
  World w;
  store::Failure f;
  f.window_id = 2;
  f.stage = "load";
  f.resource_type = "Patient";
  f.resource_id = "p1";
  f.http_status = 400;
  f.reason = "name required";
  f.at = At("2024-01-01T00:00:00Z");
  ASSERT_TRUE(w.store->AddFailure(f).ok());
  f.window_id = 5;  // the same resource refused in a later window too
  ASSERT_TRUE(w.store->AddFailure(f).ok());
  auto open = LoadOpenFailures(*w.store);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ((*open)["Patient/p1"].size(), 2u);

  base::Instant later = At("2024-01-02T00:00:00Z");
  ResendOutcome refused{"Patient", "p1", ResendOutcome::Kind::kRefused, 422, "bad date", ""};
  ASSERT_TRUE(RecordResendOutcome(*w.store, *open, refused, later, "verify").ok());
  EXPECT_EQ(*w.store->CountFailures(false), 2);  // no third failure: an attempt of each
  for (const auto& failure : *w.store->ListFailures(false, SIZE_MAX)) {
    EXPECT_EQ(failure.reason, "bad date");
    EXPECT_EQ(w.store->ListFailureAttempts(failure.id)->size(), 2u);
  }
  ResendOutcome sent{"Patient", "p1", ResendOutcome::Kind::kSent, 200, "sent", ""};
  ASSERT_TRUE(RecordResendOutcome(*w.store, *open, sent, later, "verify").ok());
  EXPECT_EQ(*w.store->CountFailures(false), 0);
  EXPECT_EQ(open->count("Patient/p1"), 0u);

  ResendOutcome fresh{"Observation", "o9", ResendOutcome::Kind::kRefused, 400, "bad code", ""};
  ASSERT_TRUE(RecordResendOutcome(*w.store, *open, fresh, later, "verify").ok());
  auto now_open = *w.store->ListFailures(false, SIZE_MAX);
  ASSERT_EQ(now_open.size(), 1u);
  EXPECT_EQ(now_open[0].stage, "verify");
  EXPECT_EQ(now_open[0].resource_id, "o9");
  ResendOutcome quiet{"Observation", "o8", ResendOutcome::Kind::kRefused, 400, "x", ""};
  ASSERT_TRUE(RecordResendOutcome(*w.store, *open, quiet, later, "").ok());
  EXPECT_EQ(*w.store->CountFailures(false), 1);  // no stage: not added
}

}  // namespace
}  // namespace fm::migrate
