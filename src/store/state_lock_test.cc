// Two `run`s on one state file both planned overlapping windows and loaded
// everything: the destination got every resource four times. One writer per
// state file: these tests pin the lock that prevents it.
#include "store/state_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "store/store_test_util.h"

namespace fm::store {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

LockHolder Me(int64_t pid, const std::string& command) {
  LockHolder h;
  h.host = "host-a";
  h.pid = pid;
  h.started = base::FromEpochMillis(1'700'000'000'000);
  h.command = command;
  return h;
}

TEST(StateLockTest, ASecondWriterIsRefusedWithTheHolderNamed) {
  std::string state = testing::TempDir() + "/state.db";
  auto first = AcquireStateLock(state, Me(101, "fhir-migrate run --follow"));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  // Another open of the lock file, as another process would make.
  auto second = AcquireStateLock(state, Me(202, "fhir-migrate run --once"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, base::ErrorKind::kLocked);
  const std::string& m = second.error().message;
  EXPECT_TRUE(Contains(m, "state file " + state + " is in use")) << m;
  EXPECT_TRUE(Contains(m, "pid 101 on host host-a")) << m;
  EXPECT_TRUE(Contains(m, "started 2023-11-14T22:13:20.000Z")) << m;
  EXPECT_TRUE(Contains(m, "fhir-migrate run --follow")) << m;
}

TEST(StateLockTest, AReleasedLockIsTakenAgainWithNoPreviousHolder) {
  std::string state = testing::TempDir() + "/state.db";
  {
    auto first = AcquireStateLock(state, Me(101, "fhir-migrate run"));
    ASSERT_TRUE(first.ok());
  }
  auto again = AcquireStateLock(state, Me(202, "fhir-migrate run"));
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_FALSE((*again)->previous().has_value());
}

// kill -9 leaves the lock file and its record behind; the kernel released
// the lock with the process, so the next writer takes over (whatever pid now
// runs under the old number) and learns who was there.
TEST(StateLockTest, TheLockOfAKilledWriterIsTakenOverAndItsRecordReported) {
  std::string state = testing::TempDir() + "/state.db";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = AcquireStateLock(state, Me(::getpid(), "fhir-migrate run --follow"));
    if (!lock.ok()) ::_exit(3);
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child could not take the lock";
  auto held = CurrentLockHolder(state);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->has_value()) << "a killed process still holds the lock";
  auto lock = AcquireStateLock(state, Me(::getpid(), "fhir-migrate run"));
  ASSERT_TRUE(lock.ok()) << lock.error().ToString();
  ASSERT_TRUE((*lock)->previous().has_value());
  EXPECT_EQ((*lock)->previous()->pid, child);
  EXPECT_EQ((*lock)->previous()->command, "fhir-migrate run --follow");
}

TEST(StateLockTest, ReadersSeeTheHolderWithoutTakingTheLock) {
  std::string state = testing::TempDir() + "/state.db";
  auto none = CurrentLockHolder(state);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto lock = AcquireStateLock(state, Me(101, "fhir-migrate run"));
  ASSERT_TRUE(lock.ok());
  auto held = CurrentLockHolder(state);
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ((*held)->pid, 101);
  EXPECT_EQ((*held)->host, "host-a");
  lock->reset();
  auto after = AcquireStateLock(state, Me(202, "fhir-migrate run"));
  EXPECT_TRUE(after.ok()) << "the query kept the lock";
}

TEST(StateLockTest, TheRecordedCommandLineCarriesNoSecretAndIsOneLine) {
  std::string state = testing::TempDir() + "/state.db";
  auto lock = AcquireStateLock(
      state, Me(7, "fhir-migrate -o source.url=https://ann:s3cret@src/fhir\nrun --once"));
  ASSERT_TRUE(lock.ok());
  std::ifstream in(LockPathFor(state));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(Contains(text, "s3cret")) << text;
  EXPECT_TRUE(Contains(text, "command=fhir-migrate -o source.url=https://src/fhir run --once\n"))
      << text;
}

TEST(StateLockTest, AnUnwritableDirectoryIsAStorageError) {
  auto lock = AcquireStateLock("/nonexistent/fm/state.db", Me(1, "x"));
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, base::ErrorKind::kStorage);
  EXPECT_TRUE(Contains(lock.error().message, "/nonexistent/fm/state.db.lock"))
      << lock.error().message;
}

}  // namespace
}  // namespace fm::store
