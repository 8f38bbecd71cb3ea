// Per-type mode (migration.per_type = true) end to end: the real binary
// against the test servers, one $export or search per resource type per
// window, every type on a timeline of its own, and a destination equal to the
// source.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "base/time.h"
#include "store/state_store.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;

// meta.lastUpdated of every generated resource, by type.
std::map<std::string, std::vector<base::Instant>> UpdatedByType(const std::string& ndjson) {
  std::map<std::string, std::vector<base::Instant>> out;
  std::istringstream lines(ndjson);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto r = Json::parse(line);
    auto at = base::ParseInstant(r["meta"]["lastUpdated"].get<std::string>());
    EXPECT_TRUE(at.ok()) << line.substr(0, 200);
    if (at.ok()) out[r["resourceType"].get<std::string>()].push_back(*at);
  }
  return out;
}

int64_t CountIn(const std::vector<base::Instant>& updated, base::Instant since,
                base::Instant till) {
  return std::count_if(updated.begin(), updated.end(),
                       [&](base::Instant t) { return t >= since && t < till; });
}

class PerTypeTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_per_type");
  std::string state = dir + "/state.db";

  void SetUp() override { source.SetFaults(R"({"retryAfterSeconds":0,"maxLinesPerFile":400})"); }

  RunResult PerTypeRun(const std::vector<std::string>& extra) {
    std::vector<std::string> o = {"migration.per_type=true", "rest.batch_size=100",
                                  "bulk.poll_interval=100ms", "bulk.max_poll_interval=1s",
                                  "staging.dir=" + dir + "/staging"};
    o.insert(o.end(), extra.begin(), extra.end());
    return RunMigrate({"run", "--once"}, source, destination, state, o);
  }

  std::unique_ptr<store::StateStore> Store() {
    auto s = store::OpenSqliteStateStore({state, /*read_only=*/true});
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Windows by type, each type's in order; an all-type window fails the test.
  std::map<std::string, std::vector<store::Window>> Timelines() {
    std::map<std::string, std::vector<store::Window>> out;
    for (const auto& w : *Store()->ListWindows()) {
      EXPECT_FALSE(w.resource_type.empty()) << "window #" << w.id << " covers all types";
      out[w.resource_type].push_back(w);
    }
    return out;
  }

  // Every type loaded, contiguous from the migration start; returns the
  // timelines' ends by type.
  std::map<std::string, base::Instant> ExpectLoadedTimelines(
      const std::map<std::string, std::vector<store::Window>>& timelines) {
    auto start = Store()->GetMigration()->start;
    EXPECT_TRUE(start.has_value());
    std::map<std::string, base::Instant> ends;
    for (const auto& [type, ws] : timelines) {
      EXPECT_EQ(ws.front().since, start.value_or(base::Instant{})) << type;
      for (size_t i = 0; i < ws.size(); ++i) {
        EXPECT_EQ(ws[i].status, store::WindowStatus::kLoaded) << type << " #" << ws[i].id;
        if (i > 0) {
          EXPECT_EQ(ws[i].since, ws[i - 1].till) << type << ": gap at #" << ws[i].id;
        }
      }
      ends[type] = ws.back().till;
    }
    return ends;
  }

  void ExpectExtractedPerType(const std::map<std::string, std::vector<base::Instant>>& updated) {
    std::map<std::string, int64_t> extracted;
    for (const auto& t : *Store()->TotalCounts()) extracted[t.resource_type] += t.extracted;
    for (const auto& [type, times] : updated) {
      EXPECT_EQ(extracted[type], static_cast<int64_t>(times.size())) << type;
    }
  }

  void ExpectEqualServers() {
    auto diffs = CompareServers(source, destination, kGeneratedTypes);
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  }
};

TEST_F(PerTypeTest, BulkKicksOffOneSingleTypeExportPerTypeAndNonEmptyWindow) {
  std::string ndjson = Generate(1500, 12, "2023-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  auto run = PerTypeRun({"migration.extract=bulk", "migration.window=120d"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectEqualServers();

  auto updated = UpdatedByType(ndjson);
  auto timelines = Timelines();
  EXPECT_EQ(timelines.size(), updated.size()) << "one timeline per type with data";
  auto ends = ExpectLoadedTimelines(timelines);
  std::set<base::Instant> distinct_ends;
  for (const auto& [type, end] : ends) distinct_ends.insert(end);
  EXPECT_EQ(distinct_ends.size(), 1u) << "with _till every type ends at the planning horizon";
  EXPECT_EQ(Store()->GetMigration()->watermark, *distinct_ends.begin());
  ExpectExtractedPerType(updated);

  // (type, since, till) of the windows that hold resources of their type: each
  // one export, and no other window kicks one off.
  using Key = std::tuple<std::string, int64_t, int64_t>;
  std::multiset<Key> expected;
  for (const auto& [type, ws] : timelines) {
    for (const auto& w : ws) {
      bool has_data = CountIn(updated[type], w.since, w.till) > 0;
      EXPECT_EQ(!w.export_url.empty(), has_data) << type << " #" << w.id;
      if (has_data)
        expected.insert({type, base::ToEpochMillis(w.since), base::ToEpochMillis(w.till)});
    }
  }
  auto stats = Json::parse(source.Stats());
  std::multiset<Key> kicked_off;
  for (const auto& k : stats["kickoffs"]) {
    const auto& p = k["params"];
    ASSERT_TRUE(p.contains("_type") && p.contains("_since") && p.contains("_till")) << k.dump();
    ASSERT_EQ(p["_type"].size(), 1u) << "one type per kick-off: " << k.dump();
    auto since = base::ParseInstant(p["_since"][0].get<std::string>());
    auto till = base::ParseInstant(p["_till"][0].get<std::string>());
    ASSERT_TRUE(since.ok() && till.ok()) << k.dump();
    kicked_off.insert({p["_type"][0].get<std::string>(), base::ToEpochMillis(*since),
                       base::ToEpochMillis(*till)});
  }
  EXPECT_EQ(stats["exportKickoffs"].get<size_t>(), expected.size());
  EXPECT_EQ(kicked_off, expected);
}

TEST_F(PerTypeTest, SearchReadsEachTypeOnItsOwnTimelineAndEndsEqual) {
  std::string ndjson = Generate(1200, 13, "2023-01-01", "2024-01-01");
  source.LoadNdjson(ndjson);
  auto run = PerTypeRun({"migration.window=120d"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ExpectEqualServers();
  auto updated = UpdatedByType(ndjson);
  auto timelines = Timelines();
  EXPECT_EQ(timelines.size(), updated.size());
  auto ends = ExpectLoadedTimelines(timelines);
  for (const auto& [type, end] : ends) {
    EXPECT_EQ(Store()->GetMigration()->watermark, end) << type;
  }
  ExpectExtractedPerType(updated);
  EXPECT_EQ(Json::parse(source.Stats())["exportKickoffs"].get<int>(), 0);
}

TEST_F(PerTypeTest, WithoutAnUpperBoundEachTypeEndsAtItsOwnTransactionTime) {
  std::string ndjson = Generate(600, 14, "2023-01-01", "2023-05-01");
  source.LoadNdjson(ndjson);
  std::vector<std::string> overrides = {"migration.extract=bulk", "migration.window=3650d",
                                        "bulk.upper_bound_param=none", "migration.safety_lag=1s"};
  auto first = PerTypeRun(overrides);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto timelines = Timelines();
  ASSERT_EQ(timelines.size(), UpdatedByType(ndjson).size());
  auto ends = ExpectLoadedTimelines(timelines);
  std::optional<base::Instant> earliest;
  for (const auto& [type, ws] : timelines) {
    // One export per type, and its window ends where that export's snapshot
    // does, whatever the other types' exports said.
    ASSERT_EQ(ws.size(), 1u) << type;
    ASSERT_TRUE(ws[0].transaction_time.has_value()) << type;
    EXPECT_EQ(ws[0].till, *ws[0].transaction_time + base::Millis(1)) << type;
    if (!earliest || ws[0].till < *earliest) earliest = ws[0].till;
  }
  EXPECT_EQ(Store()->GetMigration()->watermark, earliest) << "the type that ends first";

  // A Patient updated after the first run arrives with the second; every
  // type continues from its own end.
  auto page = Json::parse(source.Get("/Patient?_count=1").body);
  Json patient = page["entry"][0]["resource"];
  patient["name"] = Json::array({{{"family", "PerType"}}});
  ASSERT_LT(source.Put("/Patient/" + patient["id"].get<std::string>(), patient.dump()).status, 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the safety lag
  auto second = PerTypeRun(overrides);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  ExpectEqualServers();
  auto after = Timelines();
  ExpectLoadedTimelines(after);
  for (const auto& [type, ws] : after) {
    ASSERT_EQ(ws.size(), 2u) << type;
    EXPECT_EQ(ws[1].since, ends[type]) << type;
  }
  EXPECT_FALSE(after["Patient"][1].export_url.empty());
}

}  // namespace
}  // namespace fm::harness
