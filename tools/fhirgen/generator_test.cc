#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "gen_json.h"
#include "generator.h"

namespace fhirgen {
namespace {

constexpr int64_t kFrom = 1609459200000;  // 2021-01-01T00:00:00.000Z
constexpr int64_t kTill = 1704067200000;  // 2024-01-01T00:00:00.000Z

// "YYYY-MM-DDThh:mm:ss.sssZ"
bool IsInstant(const std::string& s) {
  static constexpr char kPattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (s.size() != sizeof kPattern - 1) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kPattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != kPattern[i]) return false;
  }
  return true;
}

// FHIR id: [A-Za-z0-9\-\.]{1,64}
bool IsFhirId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

GenOptions Opts(uint64_t seed, size_t n, int64_t from = kFrom, int64_t till = kTill) {
  GenOptions o;
  o.seed = seed;
  o.resources = n;
  o.from_epoch_ms = from;
  o.till_epoch_ms = till;
  return o;
}

std::vector<std::string> Generate(const GenOptions& o) {
  Generator g(o);
  std::vector<std::string> out;
  std::string line;
  while (g.Next(line)) out.push_back(line);
  return out;
}

// Collects every {"reference": "..."} string below `j`.
void CollectRefs(const nlohmann::json& j, std::vector<std::string>& refs) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "reference" && it->is_string()) refs.push_back(it->get<std::string>());
      else CollectRefs(*it, refs);
    }
  } else if (j.is_array()) {
    for (const auto& e : j) CollectRefs(e, refs);
  }
}

TEST(FhirgenTest, SameSeedSameOutputDifferentSeedDifferentOutput) {
  const auto a = Generate(Opts(7, 3000));
  const auto b = Generate(Opts(7, 3000));
  const auto c = Generate(Opts(8, 3000));
  ASSERT_EQ(a.size(), 3000u);
  EXPECT_EQ(a, b);
  ASSERT_EQ(c.size(), 3000u);
  EXPECT_NE(a, c);
  // Different window, same seed: timestamps differ.
  EXPECT_NE(a, Generate(Opts(7, 3000, kFrom, kFrom + 86400000)));
}

TEST(FhirgenTest, CountIsExactAndNextStaysFalse) {
  for (size_t n : {0u, 1u, 2u, 5u, 49u, 50u, 51u, 137u, 1000u, 12345u}) {
    Generator g(Opts(3, n));
    std::string line;
    size_t got = 0;
    while (g.Next(line)) ++got;
    EXPECT_EQ(got, n);
    EXPECT_EQ(g.emitted(), n);
    EXPECT_TRUE(line.empty());
    EXPECT_FALSE(g.Next(line));
  }
}

TEST(FhirgenTest, EveryTypePresentForSmallCounts) {
  for (size_t n = 50; n <= 200; n += 7) {
    std::set<std::string> types;
    for (const auto& l : Generate(Opts(n, n))) {
      types.insert(nlohmann::json::parse(l)["resourceType"].get<std::string>());
    }
    EXPECT_EQ(types.size(), static_cast<size_t>(kResourceTypeCount)) << "n=" << n;
  }
}

TEST(FhirgenTest, StreamIsValidConsistentAndBoundaryHeavy) {
  const size_t n = 30000;
  const GenOptions opt = Opts(42, n);
  Generator g(opt);
  std::unordered_set<std::string> seen_refs;  // "Type/id" already emitted
  std::unordered_set<std::string> seen_ids;
  std::array<size_t, kResourceTypeCount> count{}, bytes{};
  size_t same_as_prev = 0, midnight = 0, before_midnight = 0, at_from = 0, at_last = 0;
  std::string prev_lu, line;
  const std::string from_s = FormatInstant(opt.from_epoch_ms);
  const std::string last_s = FormatInstant(opt.till_epoch_ms - 1);
  size_t lines = 0;
  while (g.Next(line)) {
    ++lines;
    ASSERT_EQ(line.find('\n'), std::string::npos);
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    const std::string type = j.at("resourceType").get<std::string>();
    ASSERT_EQ(type, ResourceTypeName(g.last_type()));
    const std::string id = j.at("id").get<std::string>();
    ASSERT_TRUE(IsFhirId(id)) << id;
    ASSERT_TRUE(seen_ids.insert(id).second) << "duplicate id " << id;
    ASSERT_EQ(j.at("meta").at("versionId"), "1");
    const std::string lu = j.at("meta").at("lastUpdated").get<std::string>();
    ASSERT_TRUE(IsInstant(lu)) << lu;
    const int64_t lu_ms = ParseTimestamp(lu);
    ASSERT_GE(lu_ms, opt.from_epoch_ms) << lu;
    ASSERT_LT(lu_ms, opt.till_epoch_ms) << lu;
    ASSERT_EQ(FormatInstant(lu_ms), lu);
    same_as_prev += lu == prev_lu;
    midnight += lu.ends_with("T00:00:00.000Z");
    before_midnight += lu.ends_with("T23:59:59.999Z");
    at_from += lu == from_s;
    at_last += lu == last_s;
    prev_lu = lu;

    std::vector<std::string> refs;
    CollectRefs(j, refs);
    for (const auto& r : refs) {
      ASSERT_TRUE(seen_refs.count(r)) << type << "/" << id << " references missing " << r;
    }
    if (type == "Observation") {
      EXPECT_TRUE(j.contains("valueQuantity") || j.contains("component"));
      EXPECT_EQ(j["subject"]["reference"].get<std::string>().rfind("Patient/", 0), 0u);
    }
    seen_refs.insert(type + "/" + id);
    const int t = static_cast<int>(g.last_type());
    ++count[t];
    bytes[t] += line.size();
  }
  ASSERT_EQ(lines, n);

  const auto pct = [&](ResourceType t) { return 100.0 * count[static_cast<int>(t)] / n; };
  for (int t = 0; t < kResourceTypeCount; ++t) EXPECT_GT(count[t], 0u) << t;
  EXPECT_NEAR(pct(ResourceType::kPatient), 8, 1.5);
  EXPECT_NEAR(pct(ResourceType::kPractitioner), 1, 0.3);
  EXPECT_NEAR(pct(ResourceType::kOrganization), 0.3, 0.1);
  EXPECT_NEAR(pct(ResourceType::kEncounter), 15, 2.5);
  EXPECT_NEAR(pct(ResourceType::kObservation), 55, 4);
  EXPECT_NEAR(pct(ResourceType::kCondition), 10, 2);
  EXPECT_NEAR(pct(ResourceType::kMedicationRequest), 10, 2);

  const int obs = static_cast<int>(ResourceType::kObservation);
  const double obs_avg = static_cast<double>(bytes[obs]) / count[obs];
  EXPECT_GE(obs_avg, 1000);
  EXPECT_LE(obs_avg, 2000);

  // Deliberate boundary cases (rates are 2%, 1%, 0.5%, 0.1%, 0.1%).
  EXPECT_GT(same_as_prev, n / 100);
  EXPECT_GT(midnight, n / 200);
  EXPECT_GT(before_midnight, n / 500);
  EXPECT_GT(at_from, 0u);
  EXPECT_GT(at_last, 0u);
}

TEST(FhirgenTest, TinyWindowsStayInside) {
  const int64_t midnight = 1640995200000;  // 2022-01-01T00:00:00.000Z
  const std::vector<std::pair<int64_t, int64_t>> windows = {
      {midnight, midnight + 1}, {midnight - 2, midnight + 2}, {midnight + 5, midnight + 6000}};
  for (const auto& [from, till] : windows) {
    for (const auto& l : Generate(Opts(5, 2000, from, till))) {
      const auto j = nlohmann::json::parse(l);
      const int64_t t = ParseTimestamp(j["meta"]["lastUpdated"].get<std::string>());
      ASSERT_GE(t, from);
      ASSERT_LT(t, till);
    }
  }
}

TEST(FhirgenTest, InvalidWindowThrows) {
  EXPECT_THROW(Generator(Opts(1, 10, kFrom, kFrom)), std::invalid_argument);
  EXPECT_THROW(Generator(Opts(1, 10, kTill, kFrom)), std::invalid_argument);
  EXPECT_THROW(Generator(Opts(1, 10, ParseTimestamp("1700-01-01"), kTill)), std::invalid_argument);
}

TEST(FhirgenTest, HugeCountStartsImmediately) {
  // Constant memory / no up-front work: a trillion-resource plan is cheap.
  Generator g(Opts(9, size_t{1} << 40));
  std::string line;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(g.Next(line));
  EXPECT_EQ(g.emitted(), 1000u);
}

TEST(FhirgenTest, ParseAndFormatTimestamps) {
  EXPECT_EQ(ParseTimestamp("1970-01-01"), 0);
  EXPECT_EQ(ParseTimestamp("2021-03-04T05:06:07.123Z"), 1614834367123);
  EXPECT_EQ(ParseTimestamp("2021-03-04T06:06:07.123+01:00"), 1614834367123);
  EXPECT_EQ(ParseTimestamp("2021-03-04T00:06:07.1234-05:00"), 1614834367123);
  EXPECT_EQ(ParseTimestamp("2021-03-04T05:06:07Z"), 1614834367000);
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(FormatInstant(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatInstant(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatInstant(1614834367123), "2021-03-04T05:06:07.123Z");
  EXPECT_EQ(FormatInstant(ParseTimestamp("2024-02-29")), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatInstant(ParseTimestamp("1900-03-01")), "1900-03-01T00:00:00.000Z");
  for (int64_t t = -3000000000000; t < 5000000000000; t += 7777777777) {
    ASSERT_EQ(ParseTimestamp(FormatInstant(t)), t);
  }
  for (const char* bad : {"", "2021", "2021-13-01", "2021-02-29", "2021-01-32", "2021-01-01T",
                          "2021-01-01T10:00:00", "2021-01-01T24:00:00Z", "2021-01-01x",
                          "2021-01-01T10:00:00.Z", "2021-01-01T10:00:00Zjunk"}) {
    EXPECT_THROW(ParseTimestamp(bad), std::invalid_argument) << bad;
  }
}

TEST(FhirgenTest, JsonStringEscaping) {
  const std::string raw = std::string("a\"b\\c\nd\te\x01\x1f f\xc3\xbc") + '\0' + "z";
  std::string out;
  detail::AppendStr(out, raw);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), raw);
  std::string num;
  detail::AppendDecimal(num, 1234, 2);
  num += ',';
  detail::AppendDecimal(num, 5, 3);
  num += ',';
  detail::AppendDecimal(num, -7, 1);
  EXPECT_EQ(num, "12.34,0.005,-0.7");
}

}  // namespace
}  // namespace fhirgen
