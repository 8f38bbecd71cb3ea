// Operating fhir-migrate safely, through the real binary against two real
// test servers: one writer per state file, refused resources sent again, a
// dead server found at start-up, the config file found without -c, and the
// command line's own answers (--version, unknown commands and types).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

class OperatorTest : public ::testing::Test {
 protected:
  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_operator");
  std::string state = dir + "/state.db";

  // `fhir-migrate run --once` in the background, slowed down by the source
  // (every search page answered late) so it is still running when the test
  // acts; stdout and stderr go to files in `dir`.
  std::unique_ptr<Process> StartSlowRun(const std::string& name) {
    source.SetFaults(R"({"searchDelayMs":400})");
    SpawnOptions o;
    o.argv = {FhirMigrateBinary(),
              "-o",
              "source.url=" + source.base_url(),
              "-o",
              "destination.url=" + destination.base_url(),
              "-o",
              "state.path=" + state,
              "-o",
              "search.page_size=20",
              "-o",
              "migration.window=3650d",
              "run",
              "--once"};
    o.stdout_path = dir + "/" + name + ".out";
    o.stderr_path = dir + "/" + name + ".err";
    return std::make_unique<Process>(o);
  }

  // Waits until the lock file names `pid` as its holder.
  bool WaitForLockHolder(pid_t pid, Process& p) {
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline && p.Running()) {
      if (Contains(ReadFile(state + ".lock"), "pid=" + std::to_string(pid) + "\n")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Waits until the run logged that it is copying (its state file is open).
  bool WaitForCopying(const std::string& name, Process& p) {
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline && p.Running()) {
      if (Contains(ReadFile(dir + "/" + name + ".err"), "catching up:")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Every resource of the destination has exactly one version in its history.
  void ExpectOneVersionEach() {
    auto resources = DumpServer(destination, kGeneratedTypes, {});
    ASSERT_FALSE(resources.empty());
    for (const auto& [key, json] : resources) {
      auto reply = destination.Get("/" + key + "/_history");
      ASSERT_EQ(reply.status, 200) << key;
      auto bundle = Json::parse(reply.body);
      size_t versions = bundle.contains("entry") ? bundle["entry"].size() : 0;
      EXPECT_EQ(versions, 1u) << key << " was written " << versions << " times";
    }
  }
};

// Two `run --once` on one state file both ran: they planned overlapping
// windows, each loaded everything, and the destination received every
// resource four times. The second writer is now refused, naming the first.
TEST_F(OperatorTest, ASecondRunOnTheSameStateFileIsRefusedAndEachResourceIsWrittenOnce) {
  source.LoadNdjson(Generate(240, 21, "2022-01-01", "2023-01-01"));
  auto first = StartSlowRun("first");
  ASSERT_TRUE(WaitForLockHolder(first->pid(), *first)) << ReadFile(dir + "/first.err");

  auto second = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(second.exit_code, 9) << second.err;
  EXPECT_TRUE(Contains(second.err, "is in use by another fhir-migrate")) << second.err;
  EXPECT_TRUE(
      Contains(second.err, "pid " + std::to_string(first->pid()) + " on host " + HostName()))
      << second.err;
  EXPECT_TRUE(Contains(second.err, ", started 20")) << second.err;
  EXPECT_TRUE(Contains(second.err, "fhir-migrate -o source.url=")) << second.err;
  EXPECT_TRUE(Contains(second.err, "run --once")) << second.err;
  // The other writers are refused too; readers are not.
  ASSERT_TRUE(WaitForCopying("first", *first)) << ReadFile(dir + "/first.err");
  EXPECT_EQ(RunMigrate({"clear-halt"}, source, destination, state).exit_code, 9);
  EXPECT_EQ(RunMigrate({"failures", "retry", "--all"}, source, destination, state).exit_code, 9);
  auto status = RunMigrate({"status", "--json"}, source, destination, state);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  auto failures = RunMigrate({"failures", "list"}, source, destination, state);
  EXPECT_EQ(failures.exit_code, 0) << failures.err;

  auto code = first->Wait(std::chrono::minutes(5));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << ReadFile(dir + "/first.err");
  source.SetFaults("{}");
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());
  ExpectOneVersionEach();
  // Released: the next run takes the lock (and finds nothing new).
  auto again = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(Contains(again.err, "took over")) << again.err;
}

// kill -9 leaves the lock file and its record; the kernel released the lock
// with the process, so the next run takes over and says from whom.
TEST_F(OperatorTest, TheLockOfARunKilledWithSigkillIsTakenOver) {
  source.LoadNdjson(Generate(240, 22, "2022-01-01", "2023-01-01"));
  auto killed = StartSlowRun("killed");
  ASSERT_TRUE(WaitForLockHolder(killed->pid(), *killed)) << ReadFile(dir + "/killed.err");
  pid_t pid = killed->pid();
  killed->Signal(SIGKILL);
  ASSERT_TRUE(killed->Wait(std::chrono::seconds(30)).has_value());
  EXPECT_TRUE(Contains(ReadFile(state + ".lock"), "pid=" + std::to_string(pid)));
  source.SetFaults("{}");
  auto next = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_TRUE(Contains(next.err, "took over the state file's lock from pid " + std::to_string(pid) +
                                     " on host " + HostName()))
      << next.err;
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());
}

// A destination refused 3 resources. After the cause was fixed there was no
// way to send them again, and every later run exited 8.
TEST_F(OperatorTest, RefusedResourcesAreSentAgainOnceTheCauseIsFixed) {
  source.LoadNdjson(Generate(300, 23, "2022-01-01", "2023-01-01"));
  auto page = Json::parse(source.Get("/Patient?_count=3&_sort=_lastUpdated").body);
  std::vector<std::string> refused;
  for (const auto& e : page["entry"])
    refused.push_back("Patient/" + e["resource"]["id"].get<std::string>());
  ASSERT_EQ(refused.size(), 3u);
  destination.SetFaults(Json{{"putReject", refused}}.dump());
  auto run = RunMigrate({"run", "--once"}, source, destination, state);
  ASSERT_EQ(run.exit_code, 8) << run.err;
  EXPECT_TRUE(Contains(run.err, "failures retry --all")) << run.err;
  auto list = RunMigrate({"failures", "list", "--json"}, source, destination, state);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto listed = Json::parse(list.out);
  ASSERT_EQ(listed.size(), 3u);

  // Nothing fixed yet: a retry records the new answer and keeps them.
  auto early =
      RunMigrate({"failures", "retry", "--id", refused[0].substr(8)}, source, destination, state);
  EXPECT_EQ(early.exit_code, 8) << early.out << early.err;
  EXPECT_TRUE(Contains(early.out, refused[0] + ": failed (400)")) << early.out;

  destination.SetFaults("{}");  // the cause is fixed
  auto retry = RunMigrate({"failures", "retry", "--all"}, source, destination, state);
  EXPECT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  EXPECT_TRUE(Contains(retry.out, "3 resolved, 0 still failing")) << retry.out;
  EXPECT_TRUE(CompareServers(source, destination, kGeneratedTypes).empty());

  auto next = RunMigrate({"run", "--once"}, source, destination, state);
  EXPECT_EQ(next.exit_code, 0) << next.err;
  auto open = RunMigrate({"failures", "list"}, source, destination, state);
  EXPECT_EQ(open.exit_code, 0);
  EXPECT_EQ(open.out, "no unresolved failures\n");  // no table header above it
  auto list_all = RunMigrate({"failures", "list", "--all", "--json"}, source, destination, state);
  ASSERT_EQ(list_all.exit_code, 0) << list_all.err;
  auto all = Json::parse(list_all.out);
  ASSERT_EQ(all.size(), 3u) << all.dump();
  for (const auto& f : all) {
    EXPECT_TRUE(f["resolved"].get<bool>()) << f.dump();
    EXPECT_TRUE(f.contains("resolved_at")) << f.dump();
    const auto& attempts = f["attempts"];
    ASSERT_GE(attempts.size(), 2u) << f.dump();
    EXPECT_EQ(attempts[0]["outcome"], "failed");
    EXPECT_EQ(attempts[0]["http_status"], 400);
    EXPECT_TRUE(Contains(attempts[0]["reason"].get<std::string>(), "rejected by fault switch"));
    EXPECT_EQ(attempts.back()["outcome"], "resolved");
  }
  // Window ids: unknown is an error; a loaded window has nothing to retry.
  auto unknown = RunMigrate({"retry", "--window", "99"}, source, destination, state);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_TRUE(Contains(unknown.err, "no window 99")) << unknown.err;
  auto loaded = RunMigrate({"retry", "--window", "1"}, source, destination, state);
  EXPECT_EQ(loaded.exit_code, 2) << loaded.out;
  EXPECT_TRUE(Contains(loaded.err, "window 1 is loaded, not failed: nothing to retry"))
      << loaded.err;
}

// A dead destination cost 8 minutes and about 150 warning lines, ended with
// exit 5, and left the migration halted, needing clear-halt.
TEST_F(OperatorTest, ADeadDestinationIsExit3AtStartUpAndNothingHalts) {
  source.LoadNdjson(Generate(60, 24, "2022-01-01", "2023-01-01"));
  ASSERT_EQ(RunMigrate({"run", "--once"}, source, destination, state).exit_code, 0);
  int dead_port = 0;
  {
    FhirServer gone("gone");
    dead_port = gone.port();
  }
  std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/fhir";
  auto start = Clock::now();
  // A generous deadline: the run is killed (exit 124) if it retries for long.
  auto run = harness::Run({FhirMigrateBinary(), "-o", "source.url=" + source.base_url(), "-o",
                           "destination.url=" + dead, "-o", "state.path=" + state, "run", "--once"},
                          {}, std::chrono::seconds(30));
  auto seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("dead destination: exit %d after %.2f s\n", static_cast<int>(run.exit_code), seconds);
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_TRUE(Contains(run.err, "destination GET metadata: cannot connect to 127.0.0.1:" +
                                    std::to_string(dead_port)))
      << run.err;
  auto status = RunMigrate({"status", "--json"}, source, destination, state);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto s = Json::parse(status.out);
  EXPECT_FALSE(s["halted"].get<bool>()) << s.dump();
}

// `init` wrote fhir-migrate.toml, but later commands read it only with -c,
// and `check` printed user:password@ from a URL in clear.
TEST_F(OperatorTest, TheConfigFileIsFoundWithoutDashCAndNoCredentialIsPrinted) {
  auto in_dir = [&](const std::vector<std::string>& args) {
    SpawnOptions o;
    o.argv = {FhirMigrateBinary()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.cwd = dir;
    o.stdout_path = dir + "/cmd.out";
    o.stderr_path = dir + "/cmd.err";
    RunResult r;
    {
      Process p(o);
      auto code = p.Wait(std::chrono::minutes(2));
      r.exit_code = ExitCode(code ? *code : 124, "fhir-migrate " + args.front());
    }
    r.out = ReadFile(dir + "/cmd.out");
    r.err = ReadFile(dir + "/cmd.err");
    return r;
  };
  auto init = in_dir({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(Contains(init.out, "wrote fhir-migrate.toml")) << init.out;
  EXPECT_TRUE(Contains(init.out, "next: set source.url and destination.url")) << init.out;
  EXPECT_TRUE(Contains(init.out, "`fhir-migrate check`")) << init.out;
  std::string with_password = source.base_url();
  with_password.insert(std::string("http://").size(), "ann:s3cret@");
  std::ofstream(dir + "/fhir-migrate.toml")
      << "[source]\nurl = \"" << with_password << "\"\n[destination]\nurl = \""
      << destination.base_url() << "\"\n[state]\npath = \"" << state << "\"\n";
  auto check = in_dir({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(Contains(check.out, "config:     config file fhir-migrate.toml")) << check.out;
  EXPECT_TRUE(Contains(check.out, "source:     " + source.base_url() + "\n")) << check.out;
  EXPECT_FALSE(Contains(check.out + check.err, "s3cret")) << check.out << check.err;
  auto none = harness::Run({FhirMigrateBinary(), "-o", "source.url=" + source.base_url(), "-o",
                            "destination.url=" + destination.base_url(), "check"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(Contains(none.out, "config:     no config file, defaults + environment"))
      << none.out << none.err;
}

TEST_F(OperatorTest, TheCommandLineNamesWhatExistsAndRefusesWhatDoesNot) {
  auto version = harness::Run({FhirMigrateBinary(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(Contains(version.out, "fhir-migrate 0.")) << version.out;
  auto unknown = harness::Run({FhirMigrateBinary(), "-o", "rest.batch_size=5", "stauts"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "unknown command 'stauts' (did you mean 'status'?)"))
      << unknown.err;
  EXPECT_TRUE(Contains(unknown.err, "init, check, run, status, failures")) << unknown.err;
  auto key = RunMigrate({"check"}, source, destination, state, {"rest.batchsize=5"});
  EXPECT_EQ(key.exit_code, 2);
  EXPECT_TRUE(Contains(key.err, "did you mean 'rest.batch_size'?")) << key.err;
  // An unknown resource type was exit 1, found by the planner's first count.
  source.LoadNdjson(Generate(20, 25, "2022-01-01", "2023-01-01"));
  auto type = RunMigrate({"run", "--once"}, source, destination, state,
                         {"migration.types=Patiant,Observation"});
  EXPECT_EQ(type.exit_code, 2) << type.err;
  EXPECT_TRUE(Contains(type.err, "migration.types")) << type.err;
  EXPECT_TRUE(Contains(type.err, "'Patiant' (did you mean 'Patient'?)")) << type.err;
  // A URL where no FHIR server answers was exit 1.
  std::string not_fhir = "http://127.0.0.1:" + std::to_string(source.port()) + "/not-fhir";
  auto wrong = harness::Run({FhirMigrateBinary(), "-o", "source.url=" + not_fhir, "-o",
                             "destination.url=" + destination.base_url(), "-o",
                             "state.path=" + state, "run", "--once"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  EXPECT_TRUE(Contains(wrong.err, "no FHIR server answers at " + not_fhir)) << wrong.err;
  // An unset token variable was found at the first request (exit 1).
  auto token =
      RunMigrate({"run", "--once"}, source, destination, state,
                 {"source.auth.kind=bearer", "source.auth.token_env=FM_TEST_NO_SUCH_TOKEN"});
  EXPECT_EQ(token.exit_code, 2) << token.err;
  EXPECT_TRUE(Contains(token.err, "FM_TEST_NO_SUCH_TOKEN is not set")) << token.err;
}

// `verify --deep 50` answered "deep check passed", exit 0, while its own
// per-type counts differed (515 against 514): its sample missed the id the
// destination lacked.
TEST_F(OperatorTest, ADeepCheckThatSeesACountDifferenceFails) {
  source.LoadNdjson(Generate(200, 26, "2022-01-01", "2023-01-01"));
  ASSERT_EQ(RunMigrate({"run", "--once"}, source, destination, state).exit_code, 0);
  auto page = Json::parse(destination.Get("/Observation?_count=1&_sort=-_lastUpdated").body);
  std::string id = page["entry"][0]["resource"]["id"];
  ASSERT_EQ(destination.Delete("/Observation/" + id).status / 100, 2);
  auto deep =
      RunMigrate({"verify", "--deep", "1", "--no-before-watermark"}, source, destination, state);
  EXPECT_EQ(deep.exit_code, 6) << deep.out << deep.err;
  EXPECT_TRUE(Contains(deep.err, "deep check: counts differ for Observation")) << deep.err;
  EXPECT_TRUE(Contains(deep.out, "deep check FAILED")) << deep.out;
}

}  // namespace
}  // namespace fm::harness
