#include "tests/integration/compare.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "json/canonical.h"

namespace fm::harness {

const std::vector<std::string> kGeneratedTypes = {"Organization",     "Practitioner", "Patient",
                                                  "Encounter",        "Observation",  "Condition",
                                                  "MedicationRequest"};

std::map<std::string, std::string> DumpServer(FhirServer& server,
                                              const std::vector<std::string>& types,
                                              const std::vector<std::string>& ignore) {
  std::map<std::string, std::string> out;
  for (const auto& type : types) {
    for (int offset = 0;; offset += 1000) {
      auto reply = server.Get("/" + type + "?_count=1000&_offset=" + std::to_string(offset) +
                              "&_sort=_lastUpdated");
      EXPECT_EQ(reply.status, 200) << reply.body.substr(0, 300);
      auto bundle = nlohmann::json::parse(reply.body);
      if (!bundle.contains("entry") || bundle["entry"].empty()) break;
      for (const auto& e : bundle["entry"]) {
        std::string key = type + "/" + e["resource"]["id"].get<std::string>();
        auto canonical = json::Canonicalize(e["resource"].dump(), ignore);
        EXPECT_TRUE(canonical.ok());
        out[key] = canonical.ok() ? *canonical : "";
      }
      if (bundle["entry"].size() < 1000) break;
    }
  }
  return out;
}

std::vector<std::string> CompareServers(FhirServer& a, FhirServer& b,
                                        const std::vector<std::string>& types,
                                        const std::vector<std::string>& ignore) {
  auto left = DumpServer(a, types, ignore);
  auto right = DumpServer(b, types, ignore);
  std::vector<std::string> diffs;
  for (const auto& [key, json] : left) {
    auto it = right.find(key);
    if (it == right.end()) {
      diffs.push_back("missing on destination: " + key);
    } else if (it->second != json) {
      diffs.push_back("different content: " + key);
    }
  }
  for (const auto& [key, json] : right) {
    if (!left.count(key)) diffs.push_back("extra on destination: " + key);
  }
  if (left.empty()) diffs.push_back("the source is empty: nothing was compared");
  return diffs;
}

Versions VersionCounts(FhirServer& server) {
  auto reply = server.Get("/$admin/versions");
  EXPECT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  Versions out;
  auto doc = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("versions")) {
    ADD_FAILURE() << "no version counts from the server: " << reply.body.substr(0, 300);
    return out;
  }
  for (const auto& [key, n] : doc["versions"].items()) out[key] = n.get<int>();
  return out;
}

std::vector<std::string> MoreVersionsThan(const Versions& versions, int max) {
  std::vector<std::string> out;
  for (const auto& [key, n] : versions) {
    if (n > max) out.push_back(key + ": " + std::to_string(n) + " versions");
  }
  return out;
}

std::vector<std::string> LoadedAgain(const Versions& before, const Versions& after,
                                     const std::set<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) {
    auto b = before.find(key);
    auto a = after.find(key);
    int was = b == before.end() ? 0 : b->second;
    int now = a == after.end() ? 0 : a->second;
    if (was != now) {
      out.push_back(key + ": " + std::to_string(was) + " → " + std::to_string(now) + " versions");
    }
  }
  return out;
}

std::string FirstFew(const std::vector<std::string>& items, size_t n) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < n; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > n) out += "; ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

std::string Generate(int count, int seed, const std::string& from, const std::string& till) {
  auto r = Run({FhirgenBinary(), "--seed", std::to_string(seed), "--count", std::to_string(count),
                "--from", from, "--till", till});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

RunResult RunMigrate(const std::vector<std::string>& args, FhirServer& source,
                     FhirServer& destination, const std::string& state_path,
                     const std::vector<std::string>& overrides,
                     const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {FhirMigrateBinary(),
                                   "-o",
                                   "source.url=" + source.base_url(),
                                   "-o",
                                   "destination.url=" + destination.base_url(),
                                   "-o",
                                   "state.path=" + state_path,
                                   "-o",
                                   "migration.retry_backoff=100ms",
                                   "-o",
                                   "http.max_backoff=200ms"};
  for (const auto& o : overrides) {
    argv.push_back("-o");
    argv.push_back(o);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, env);
}

}  // namespace fm::harness
