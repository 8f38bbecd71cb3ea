// Test fixture: two in-process FHIR servers, a manual clock, an in-memory
// SQLite state store and the engine wired as the CLI wires it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/strings.h"
#include "env/clock.h"
#include "fhir/client.h"
#include "http/fake_transport.h"
#include "migrate/planner.h"
#include "migrate/rest_loader.h"
#include "migrate/runner.h"
#include "migrate/search_extractor.h"
#include "store/state_store.h"
#include "tests/fakes/fake_fhir_server.h"

namespace fm::migrate {

inline base::Instant At(const char* text) { return *base::ParseInstant(text); }

inline std::string Patient(const std::string& id, const std::string& last_updated,
                           const std::string& family = "Doe") {
  return R"({"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":"1","lastUpdated":")" +
         last_updated + R"("},"name":[{"family":")" + family + R"("}]})";
}

inline std::string Observation(const std::string& id, const std::string& last_updated) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","meta":{"versionId":"1","lastUpdated":")" + last_updated +
         R"("},"status":"final","subject":{"reference":"http://src.test/fhir/Patient/p1"}})";
}

struct World {
  env::ManualClock clock{At("2024-01-01T00:00:00Z")};
  testing::FakeFhirServer src{"http://src.test/fhir", clock};
  testing::FakeFhirServer dst{"http://dst.test/fhir", clock};
  http::FakeTransport transport{[this](const http::Request& r) -> base::Result<http::Response> {
    auto response = base::StartsWith(r.url, src.base_url()) ? src.Handle(r) : dst.Handle(r);
    if (!response.ok()) return response;
    return http::DeliverBody(r, std::move(*response));
  }};
  fhir::Client source{"source", src.base_url(), transport, clock};
  fhir::Client destination{"destination", dst.base_url(), transport, clock};
  std::unique_ptr<store::StateStore> store = *store::OpenSqliteStateStore({":memory:"});
  ProgressSink sink;
  MigrationOptions options;

  World() {
    options.plan.types = {"Patient", "Observation"};
    options.plan.safety_lag = base::Millis(60'000);
    options.run.retry_backoff = base::Millis(1000);
    options.search.page_size = 3;
    options.rest.batch_size = 2;
    options.rest.concurrency = 2;
  }

  // The engine as the composition root wires it; rebuilt to simulate a restart.
  // With `clock` other than the world's: a restarted process (a fresh clock
  // that is not interrupted) or a scenario clock.
  struct Engine {
    explicit Engine(World& w) : Engine(w, w.clock) {}
    Engine(World& w, env::Clock& clock)
        : source("source", w.src.base_url(), w.transport, clock),
          destination("destination", w.dst.base_url(), w.transport, clock),
          probe(source, w.options.plan.types),
          planner(w.options.plan, *w.store, probe, clock, w.sink),
          extractor(source, w.options.search, w.sink),
          loader(destination, *w.store, w.sink, clock, w.options.rest, w.src.base_url()),
          runner(w.options, *w.store, planner, extractor, loader, w.sink, clock) {}
    fhir::Client source;
    fhir::Client destination;
    FhirSourceProbe probe;
    Planner planner;
    SearchExtractor extractor;
    RestLoader loader;
    Runner runner;
  };

  std::unique_ptr<Engine> MakeEngine() { return std::make_unique<Engine>(*this); }
  std::unique_ptr<Engine> MakeEngine(env::Clock& clock) {
    return std::make_unique<Engine>(*this, clock);
  }

  // Source and destination hold the same resources, ignoring meta.
  void ExpectDestinationEqualsSource() {
    auto a = src.Snapshot();
    auto b = dst.Snapshot();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [key, json] : a) {
      ASSERT_TRUE(b.count(key)) << key << " missing on the destination";
      EXPECT_EQ(StripMeta(json), StripMeta(b[key])) << key;
    }
  }

  static std::string StripMeta(const std::string& json) {
    auto start = json.find("\"meta\":{");
    if (start == std::string::npos) return json;
    auto end = json.find('}', start);
    std::string out = json.substr(0, start) + json.substr(end + 1);
    // Absolute references on the source are rewritten to relative ones.
    for (auto pos = out.find("http://src.test/fhir/"); pos != std::string::npos;
         pos = out.find("http://src.test/fhir/")) {
      out.erase(pos, std::string("http://src.test/fhir/").size());
    }
    return out;
  }
};

}  // namespace fm::migrate
