// Concurrency and crash safety of the SQLite state store.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "store/state_store.h"
#include "store/store_test_util.h"

namespace fm::store {
namespace {

using testing::MakeWindow;
using testing::RawQuery;

TEST(SqliteConcurrencyTest, FourThreadsAddingCountsSumExactly) {
  // In memory: 4000 commits to a file would spend ~15 s in fsync, and the
  // locking under test is the same for both.
  auto store = testing::OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  auto window = store->AddWindow(MakeWindow(0, 10));
  ASSERT_TRUE(window.ok());
  constexpr int kThreads = 4;
  constexpr int kAdds = 1000;
  std::vector<int> errors(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        TypeCounts delta{t % 2 == 0 ? "Patient" : "Observation", 1, 2, 0};
        // Half the threads write in autocommit, half inside transactions that
        // also read, so both paths contend for the one connection.
        base::Status st =
            t < 2 ? store->AddCounts(*window, delta) : store->Transaction([&]() -> base::Status {
              FM_TRY_STATUS(store->TotalCounts());
              return store->AddCounts(*window, delta);
            });
        if (!st.ok()) ++errors[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, std::vector<int>(kThreads, 0));
  auto totals = store->TotalCounts();
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->size(), 2u);
  for (const auto& c : *totals) {
    EXPECT_EQ(c.extracted, 2 * kAdds) << c.resource_type;
    EXPECT_EQ(c.loaded, 4 * kAdds) << c.resource_type;
  }
}

TEST(SqliteConcurrencyTest, TwoConnectionsToOneFileWaitForEachOther) {
  std::string path = testing::TempDir() + "/state.db";
  auto a = testing::OpenOrDie(path);
  auto b = testing::OpenOrDie(path);
  ASSERT_TRUE(a && b);
  auto window = a->AddWindow(MakeWindow(0, 10));
  ASSERT_TRUE(window.ok());
  auto work = [&](StateStore* store) {
    for (int i = 0; i < 100; ++i) {
      auto st = store->Transaction([&] { return store->AddCounts(*window, {"Patient", 1}); });
      EXPECT_TRUE(st.ok()) << st.error().ToString();
    }
  };
  std::thread ta(work, a.get());
  std::thread tb(work, b.get());
  ta.join();
  tb.join();
  EXPECT_EQ((*a->TotalCounts())[0].extracted, 200);
}

// The child's loop: every transaction adds a window, its file and its counts
// and marks it loaded with the watermark advanced, then reports the commit on
// `ack` (one byte). It runs until killed.
[[noreturn]] void WriteUntilKilled(const std::string& path, int ack) {
  auto opened = OpenSqliteStateStore({path});
  if (!opened.ok()) ::_exit(2);
  StateStore& store = **opened;
  for (int64_t i = 0;; ++i) {
    auto st = store.Transaction([&]() -> base::Status {
      Window w = MakeWindow(i * 10, i * 10 + 10);
      FM_ASSIGN_OR_RETURN(w.id, store.AddWindow(w));
      FM_TRY_STATUS(store.AddFile({0, w.id, "Patient", "u", std::string(300, 'x'), 1, 1, 1}));
      FM_TRY_STATUS(store.AddCounts(w.id, {"Patient", 1, 1, 0}));
      w.status = WindowStatus::kLoaded;
      FM_TRY_STATUS(store.UpdateWindow(w));
      FM_ASSIGN_OR_RETURN(MigrationState m, store.GetMigration());
      m.watermark = w.till;
      return store.PutMigration(m);
    });
    if (!st.ok()) ::_exit(3);
    char one = 1;
    if (::write(ack, &one, 1) != 1) ::_exit(4);
  }
}

// Counts acknowledgement bytes until `deadline`, or until EOF when none.
int64_t CountAcks(int fd, std::optional<std::chrono::steady_clock::time_point> deadline) {
  int64_t acks = 0;
  char buf[4096];
  for (;;) {
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return acks;
      timeout = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return acks;
    acks += n;
  }
}

TEST(SqliteCrashTest, KilledWriterLeavesAConsistentFileAndLosesNoCommit) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int round = 0; round < 5; ++round) {
    std::string path = testing::TempDir() + "/state.db";
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      WriteUntilKilled(path, fds[1]);
    }
    ::close(fds[1]);
    // Let the child commit at least once, then kill it at a random instant.
    char first = 0;
    ASSERT_EQ(::read(fds[0], &first, 1), 1);
    auto kill_at = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 150)(rng));
    int64_t acks = 1 + CountAcks(fds[0], kill_at);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    // Killed by us, not ended by a sanitizer's abort or an _exit of its own.
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
    ASSERT_EQ(WTERMSIG(wstatus), SIGKILL) << "child ended by signal " << WTERMSIG(wstatus);
    acks += CountAcks(fds[0], std::nullopt);  // commits acknowledged before the kill
    ::close(fds[0]);

    SCOPED_TRACE("round " + std::to_string(round) + ", acknowledged " + std::to_string(acks));
    ::testing::Test::RecordProperty("acks_round_" + std::to_string(round), std::to_string(acks));
    EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
    int64_t windows = std::stoll(RawQuery(path, "SELECT count(*) FROM windows"));
    EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM files"), std::to_string(windows));
    EXPECT_EQ(RawQuery(path, "SELECT sum(extracted) FROM window_counts"), std::to_string(windows));
    EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM windows WHERE status != 'loaded'"), "0");
    EXPECT_EQ(RawQuery(path, "SELECT watermark = (SELECT max(till) FROM windows) FROM migration"),
              "1");
    // Every acknowledged commit survived; at most one more committed unseen.
    EXPECT_GE(windows, acks);
    EXPECT_LE(windows, acks + 1);

    auto reopened = testing::OpenOrDie(path);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(static_cast<int64_t>(reopened->ListWindows()->size()), windows);
  }
}

}  // namespace
}  // namespace fm::store
