#include "cli/terminal_progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

namespace fm::cli {
namespace {

store::Window W(int64_t id) {
  store::Window w;
  w.id = id;
  w.since = base::ParseInstant("2024-01-01").value();
  w.till = base::ParseInstant("2024-01-31").value();
  return w;
}

TEST(TerminalProgress, BarsShowWindowsPhasesCountsAndRetries) {
  TerminalOptions o;
  o.tty = true;
  o.width = 200;
  o.fd = -1;  // nothing is written in this test
  TerminalProgress p(o);
  p.OnWindowPlanned(W(1));
  p.OnWindowPlanned(W(2));
  p.OnWindowStarted(W(1));
  p.OnResourcesExtracted(1, "Patient", 40);
  std::string bars = p.RenderBars(200);
  EXPECT_NE(bars.find("0/2 windows"), std::string::npos) << bars;
  EXPECT_NE(bars.find("#1 2024-01-01..2024-01-31  exporting"), std::string::npos) << bars;
  p.OnBatchLoaded({1, "Patient", 20, 0});
  p.OnRetryScheduled("x", base::Millis(2000), "429 Too Many Requests");
  bars = p.RenderBars(200);
  EXPECT_NE(bars.find("loading   [##########----------] 20/40"), std::string::npos) << bars;
  EXPECT_NE(bars.find("retries 1 (throttled 1)"), std::string::npos) << bars;
  auto w = W(1);
  p.OnWindowLoaded(w);
  EXPECT_NE(p.RenderSummary().find("1/2 windows loaded, 0 in flight, 40 resources read, 20 loaded"),
            std::string::npos)
      << p.RenderSummary();
  p.Stop();
}

TEST(TerminalProgress, PlainModeWritesSummaryLinesWithoutEscapes) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  TerminalOptions o;
  o.tty = false;
  o.fd = fds[1];
  o.summary_every = std::chrono::milliseconds(50);
  o.redraw = std::chrono::milliseconds(10);
  {
    TerminalProgress p(o);
    p.Start();
    p.OnWindowPlanned(W(1));
    p.OnWindowStarted(W(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    p.Stop();
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_NE(out.find("progress: migrating, 0/1 windows loaded, 1 in flight"), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
}

}  // namespace
}  // namespace fm::cli
