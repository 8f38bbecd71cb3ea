// The checks the harness gives every child run. A sanitizer abort exits 134,
// which "exits non-zero" checks once took for the failure they expected, and a
// sanitizer report from a child that still exited as expected went unseen; so
// the harness fails the test on any sanitizer report of a project binary,
// whatever its exit code, and on an exit code nobody looked at. Each check is
// shown failing a test here, on a child with a bug planted behind a flag
// (fm_planted_bugs). A planted bug runs only in a tree built with the
// sanitizer that reports it: CI runs the ASan tree and the TSan tree.
#include "tests/harness/process.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <thread>

namespace fm::harness {
namespace {

std::string Planted() { return BinaryDir() + "/tests/harness/fm_planted_bugs"; }

bool BuiltWith(const std::string& sanitizer) {
  auto r = harness::Run({Planted(), "--sanitizers"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.find(sanitizer) != std::string::npos;
}

// Every sanitizer told to exit 0 after its report: the harness must not need
// the exit code to see it.
const std::map<std::string, std::string> kExitZeroAfterAReport = {
    {"ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=0"},
    {"LSAN_OPTIONS", "exitcode=0"},
    {"UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:abort_on_error=0:exitcode=0"},
    {"TSAN_OPTIONS", "exitcode=0:halt_on_error=0"},
};

// Runs a planted bug and returns its exit code, ignored on purpose: only the
// report may fail the test.
int RunPlanted(const std::string& flag) {
  auto r = harness::Run({Planted(), flag}, kExitZeroAfterAReport);
  r.IgnoreExitCode("the report alone must fail the test");
  return r.exit_code;
}

TEST(HarnessTest, AHeapOverflowInAChildFailsTheTestThoughItExitedZero) {
  if (!BuiltWith("address")) GTEST_SKIP() << "not an AddressSanitizer build";
  int code = -1;
  EXPECT_NONFATAL_FAILURE(code = RunPlanted("--heap-overflow"),
                          "ERROR: AddressSanitizer: heap-buffer-overflow");
  EXPECT_EQ(code, 0);
}

TEST(HarnessTest, ALeakInAChildFailsTheTestThoughItExitedZero) {
  if (!BuiltWith("leak")) GTEST_SKIP() << "not a LeakSanitizer build";
  int code = -1;
  EXPECT_NONFATAL_FAILURE(code = RunPlanted("--leak"),
                          "ERROR: LeakSanitizer: detected memory leaks");
  EXPECT_EQ(code, 0);
}

TEST(HarnessTest, UndefinedBehaviourInAChildFailsTheTestThoughItExitedZero) {
  if (!BuiltWith("undefined")) GTEST_SKIP() << "not an UndefinedBehaviorSanitizer build";
  int code = -1;
  EXPECT_NONFATAL_FAILURE(code = RunPlanted("--signed-overflow"),
                          "runtime error: signed integer overflow");
  EXPECT_EQ(code, 0);
}

TEST(HarnessTest, ADataRaceInAChildFailsTheTestThoughItExitedZero) {
  if (!BuiltWith("thread")) GTEST_SKIP() << "not a ThreadSanitizer build";
  int code = -1;
  EXPECT_NONFATAL_FAILURE(code = RunPlanted("--data-race"), "WARNING: ThreadSanitizer: data race");
  EXPECT_EQ(code, 0);
}

// Spawns `flag` as a Process whose stderr the test does not ask for and
// waits for it; its exit code is looked at.
void SpawnDiscardingStderr(const std::string& flag) {
  SpawnOptions o;
  o.argv = {Planted(), flag};
  o.env = kExitZeroAfterAReport;
  Process p(o);
  EXPECT_TRUE(p.Wait(std::chrono::minutes(1)).has_value());
}

// The same check on a Process: the harness keeps the stderr the test did not
// ask for, and looks at it when the child is reaped.
TEST(HarnessTest, AReportIsSeenOnAProcessWhoseStderrTheTestDiscards) {
  if (BuiltWith("address")) {
    EXPECT_NONFATAL_FAILURE(SpawnDiscardingStderr("--heap-overflow"), "ERROR: AddressSanitizer");
  } else if (BuiltWith("thread")) {
    EXPECT_NONFATAL_FAILURE(SpawnDiscardingStderr("--data-race"), "WARNING: ThreadSanitizer");
  } else {
    GTEST_SKIP() << "not a sanitizer build";
  }
}

// A Process that exits by itself, polled with Running() only.
void SpawnAndNeverLookAtTheExit() {
  SpawnOptions o;
  o.argv = {Planted(), "--exit", "3"};
  Process p(o);
  while (p.Running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

TEST(HarnessTest, AnExitCodeNobodyLookedAtFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(harness::Run({Planted(), "--exit", "3"}),
                          "nothing checked the exit code (3)");
  EXPECT_NONFATAL_FAILURE(SpawnAndNeverLookAtTheExit(), "nothing checked how");
}

TEST(HarnessTest, ACheckedOrExplicitlyIgnoredExitCodeAndACleanChildPass) {
  auto checked = harness::Run({Planted(), "--exit", "3"});
  EXPECT_EQ(checked.exit_code, 3);
  auto copied = harness::Run({Planted(), "--exit", "4"});
  RunResult copy = copied;  // any copy reading it counts
  EXPECT_NE(copy.exit_code, 0);
  harness::Run({Planted(), "--exit", "5"}).IgnoreExitCode("shown to be allowed");
  SpawnOptions o;
  o.argv = {Planted(), "--exit", "0"};
  Process p(o);
  EXPECT_EQ(p.Wait(std::chrono::minutes(1)), 0);
  Process killed(o);
  killed.IgnoreExitCode("shown to be allowed: killed on the way out");
}

TEST(HarnessTest, OnlyProjectBinariesAreCheckedForReports) {
  // A Node server may well log a request body that says "runtime error:".
  auto r = harness::Run({"/bin/sh", "-c", "echo 'runtime error: not ours' >&2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(IsProjectBinary(Planted()));
  EXPECT_TRUE(IsProjectBinary(FhirMigrateBinary()));
  EXPECT_FALSE(IsProjectBinary("/bin/sh"));
  EXPECT_FALSE(IsProjectBinary(BinaryDir() + "/../outside"));
}

TEST(HarnessTest, SanitizerReportQuotesFromTheMarkerLine) {
  std::string text = "log line\n==1==ERROR: AddressSanitizer: heap-use-after-free on x\n#0 f\n";
  EXPECT_EQ(SanitizerReport(text),
            "==1==ERROR: AddressSanitizer: heap-use-after-free on x\n#0 f\n");
  EXPECT_EQ(SanitizerReport("all good\n"), "");
  EXPECT_NE(SanitizerReport("a.cc:3:5: runtime error: load of misaligned address").find("a.cc:3:5"),
            std::string::npos);
}

}  // namespace
}  // namespace fm::harness
