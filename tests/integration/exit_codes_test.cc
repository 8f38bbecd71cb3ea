// Every exit code docs/errors.md documents, produced by the real binary
// against real test servers. The table is read from the document: a code
// documented without a case here fails the test, and so does a case whose
// code the document does not list. Exit codes were chosen by matching
// message text, and several were wrong (a full disk 5, an unknown type 1).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "store/state_lock.h"
#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

// The codes of the "| code | meaning |" table of docs/errors.md.
std::set<int> DocumentedCodes() {
  std::ifstream in(SourceDir() + "/docs/errors.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::set<int> codes;
  bool inside = false;
  std::istringstream lines(ss.str());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| code | meaning |", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty() || line[0] != '|') break;
    if (line.rfind("|---", 0) == 0) continue;
    codes.insert(std::stoi(line.substr(1)));
  }
  return codes;
}

class ExitCodesTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_exit_codes");
  int cases = 0;

  std::string State() { return dir + "/state" + std::to_string(++cases) + ".db"; }
};

TEST_F(ExitCodesTest, EachDocumentedCodeComesOutOfTheBinary) {
  source.LoadNdjson(Generate(60, 31, "2022-01-01", "2023-01-01"));
  // code → a scenario that must end with it; each returns the run's result.
  std::map<int, std::function<RunResult()>> scenarios;
  scenarios[0] = [&] { return RunMigrate({"run", "--once"}, source, destination, State()); };
  scenarios[1] = [&] {  // an unclassified failure: the full check reads a page that is not JSON
    source.SetFaults(R"({"badJsonSearchPage":1000})");
    auto r = RunMigrate({"verify", "--full", "--no-before-watermark"}, source, destination, State(),
                        {"verify.full_via=search"});
    source.SetFaults("{}");
    return r;
  };
  scenarios[2] = [&] {
    return RunMigrate({"run", "--once"}, source, destination, State(), {"rest.batchsize=5"});
  };
  scenarios[3] = [&] {
    return harness::Run({FhirMigrateBinary(), "-o", "source.url=" + source.base_url(), "-o",
                         "destination.url=http://127.0.0.1:9/fhir", "-o", "state.path=" + State(),
                         "run", "--once"});
  };
  scenarios[4] = [&] {
    destination.SetFaults(R"({"bearerToken":"only-this"})");
    auto r = RunMigrate({"run", "--once"}, source, destination, State());
    destination.SetFaults("{}");
    return r;
  };
  scenarios[5] = [&] {
    source.SetFaults(R"({"badJsonSearchPage":1000})");
    auto r = RunMigrate({"run", "--once"}, source, destination, State(),
                        {"migration.max_attempts=1", "migration.start=2022-01-01"});
    source.SetFaults("{}");
    return r;
  };
  scenarios[6] = [&] {
    destination.Reset();  // nothing copied: the counts differ
    return RunMigrate({"verify", "--surface", "--no-before-watermark"}, source, destination,
                      State());
  };
  scenarios[7] = [&] {
    std::string state = State();
    std::ofstream(state) << std::string(8192, 'x');  // not a SQLite file
    return RunMigrate({"run", "--once"}, source, destination, state);
  };
  scenarios[8] = [&] {
    auto page = nlohmann::json::parse(source.Get("/Patient?_count=1").body);
    std::string id = page["entry"][0]["resource"]["id"];
    destination.SetFaults(R"({"putReject":["Patient/)" + id + R"("]})");
    auto r = RunMigrate({"run", "--once"}, source, destination, State());
    destination.SetFaults("{}");
    return r;
  };
  scenarios[9] = [&] {
    std::string state = State();
    // This test process holds the lock, as another fhir-migrate would.
    store::LockHolder other;
    other.host = "elsewhere";
    other.pid = 4242;
    other.command = "fhir-migrate run --follow";
    auto held = store::AcquireStateLock(state, other);
    EXPECT_TRUE(held.ok());
    return RunMigrate({"run", "--once"}, source, destination, state);
  };

  std::set<int> documented = DocumentedCodes();
  ASSERT_FALSE(documented.empty()) << "no exit-code table in docs/errors.md";
  for (int code : documented) {
    auto it = scenarios.find(code);
    if (it == scenarios.end()) {
      ADD_FAILURE() << "exit code " << code << " is documented but no case produces it";
      continue;
    }
    RunResult r = it->second();
    EXPECT_EQ(r.exit_code, code) << "stdout: " << r.out << "\nstderr: " << r.err;
    if (code != 0 && code != 8) {  // 8 is a finished run: its log says why
      EXPECT_NE(r.err.find("fhir-migrate: "), std::string::npos) << code << ": " << r.err;
    }
  }
  for (const auto& [code, scenario] : scenarios) {
    EXPECT_TRUE(documented.count(code)) << "exit code " << code << " is not in docs/errors.md";
  }
}

}  // namespace
}  // namespace fm::harness
