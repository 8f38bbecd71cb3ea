// The terminal progress as the operator reads it, driven by events on a
// manual clock: golden frames of the bars and summary lines
// (testdata/terminal_progress.golden; FM_UPDATE_GOLDEN=1 cli_test rewrites
// it after a deliberate change), and the figures the frames must never show.
#include "cli/terminal_progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace fm::cli {
namespace {

using migrate::WindowStage;

base::Instant T(const char* text) { return base::ParseInstant(text).value(); }

store::Window W(int64_t id, int64_t expected, const char* since = "2024-01-01",
                const char* till = "2024-01-31") {
  store::Window w;
  w.id = id;
  w.since = T(since);
  w.till = T(till);
  w.expected = expected;
  return w;
}

store::Window Done(store::Window w, int64_t read, int64_t loaded, int64_t failed = 0) {
  w.status = store::WindowStatus::kLoaded;
  w.resources_extracted = read;
  w.resources_loaded = loaded;
  w.resources_failed = failed;
  return w;
}

TerminalOptions Bars(WindowStage first_stage = WindowStage::kSearching) {
  TerminalOptions o;
  o.tty = true;
  o.width = 200;
  o.fd = -1;  // nothing is written: the tests render
  o.first_stage = first_stage;
  return o;
}

std::string ReadGolden(const std::string& name) {
  std::ifstream in(std::string(FM_CLI_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ExpectGolden(const std::string& name, const std::string& text) {
  if (std::getenv("FM_UPDATE_GOLDEN"))
    std::ofstream(std::string(FM_CLI_TESTDATA) + "/" + name) << text;
  EXPECT_EQ(text, ReadGolden(name));
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One search run of three windows (5,000 resources by the source's count),
// frame by frame.
TEST(TerminalProgress, SearchRunFramesMatchTheGoldenFile) {
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  TerminalProgress p(Bars(), clock);
  std::string frames;
  auto frame = [&](const char* what) {
    frames += "--- " + std::string(what) + "\n" + p.RenderBars(200) + p.RenderSummary() + "\n";
  };
  p.OnPlanStarted();
  clock.Advance(base::Millis(4000));
  frame("planning");
  p.OnWindowPlanned(W(1, 2000));
  p.OnWindowPlanned(W(2, 2000, "2024-01-31", "2024-03-01"));
  p.OnWindowPlanned(W(3, 1000, "2024-03-01", "2024-04-01"));
  p.OnPlanned({3, 5000, {{"Observation", 4000}, {"Patient", 1000}}});
  p.OnWindowStarted(W(1, 2000));
  frame("first window started");
  p.OnResourcesExtracted(1, "Patient", 1000);
  clock.Advance(base::Millis(2000));
  p.OnBatchLoaded({1, "Patient", 800, 0});
  frame("800 loaded in 2 s");
  p.OnResourcesExtracted(1, "Observation", 1100);
  clock.Advance(base::Millis(3000));
  p.OnBatchLoaded({1, "Observation", 1298, 0});
  p.OnResourceFailed({0, 1, "load", "Observation", "o1", 400, "invalid code"});
  p.OnBatchLoaded({1, "Observation", 0, 1});
  p.OnRetryScheduled("destination bundle entries", base::Millis(2000), "429 Too Many Requests");
  frame("window 1 read more than the source counted");
  p.OnWindowLoaded(Done(W(1, 2000), 2100, 2098, 1));
  p.OnWatermark(T("2024-01-31T00:00:00Z"));
  p.OnWindowStarted(W(2, 2000, "2024-01-31", "2024-03-01"));
  clock.Advance(base::Millis(15'000));  // nothing loaded for 15 s
  frame("stalled for 15 s");
  p.OnResourcesExtracted(2, "Observation", 2000);
  p.OnBatchLoaded({2, "Observation", 2000, 0});
  p.OnWindowLoaded(Done(W(2, 2000, "2024-01-31", "2024-03-01"), 2000, 2000));
  p.OnWindowStarted(W(3, 1000, "2024-03-01", "2024-04-01"));
  p.OnResourcesExtracted(3, "Patient", 1000);
  clock.Advance(base::Millis(1000));
  p.OnBatchLoaded({3, "Patient", 1000, 0});
  p.OnWindowLoaded(Done(W(3, 1000, "2024-03-01", "2024-04-01"), 1000, 1000));
  clock.Advance(base::Millis(500));
  p.Stop();
  frame("stopped");
  ExpectGolden("terminal_progress.golden", frames);
}

// The ETA came from the time per loaded window: "--" until a window was
// loaded (the whole run, when it had one window), and an hours-long figure
// while planning from a window loaded in seconds. It now comes from the
// source's counts and the rate since the first window started.
TEST(TerminalProgress, EtaSaysPlanningWhilePlanningAndComesFromCountsInTheFirstWindow) {
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  TerminalProgress p(Bars(), clock);
  p.OnPlanStarted();
  clock.Advance(base::Millis(60'000));
  EXPECT_TRUE(Has(p.RenderBars(200), "ETA planning")) << p.RenderBars(200);
  p.OnWindowPlanned(W(1, 10'000));
  p.OnPlanned({1, 10'000, {{"Patient", 10'000}}});
  p.OnWindowStarted(W(1, 10'000));
  EXPECT_TRUE(Has(p.RenderBars(200), "ETA estimating")) << p.RenderBars(200);
  for (int i = 1; i <= 4; ++i) {
    clock.Advance(base::Millis(1000));
    p.OnResourcesExtracted(1, "Patient", 1000);
    p.OnBatchLoaded({1, "Patient", 1000, 0});
    std::string bars = p.RenderBars(200);
    EXPECT_FALSE(Has(bars, "ETA --") || Has(bars, "--/s")) << bars;
    // 1,000/s: what is left of 10,000 in seconds.
    EXPECT_TRUE(Has(bars, "ETA " + std::to_string(10 - i) + "s")) << bars;
    EXPECT_TRUE(Has(bars, std::to_string(i * 10) + "% of 10,000 resources")) << bars;
  }
}

// The window bar compared loaded with what had been read so far, so a search
// window read page by page looked nearly done all along, and a search window
// was labelled "exporting" until its first Bundle was loaded.
TEST(TerminalProgress, WindowBarIsLoadedAgainstTheExpectedCountAndNamesTheStage) {
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  TerminalProgress search(Bars(WindowStage::kSearching), clock);
  search.OnWindowStarted(W(1, 2000));
  std::string bars = search.RenderBars(200);
  EXPECT_TRUE(Has(bars, "#1 2024-01-01..2024-01-31  searching")) << bars;
  EXPECT_FALSE(Has(bars, "exporting")) << bars;
  search.OnResourcesExtracted(1, "Patient", 600);
  search.OnBatchLoaded({1, "Patient", 500, 0});
  bars = search.RenderBars(200);
  EXPECT_TRUE(Has(bars, "loading     [#####---------------] 500/2,000")) << bars;

  TerminalProgress bulk(Bars(WindowStage::kExporting), clock);
  bulk.OnWindowStarted(W(1, 2000));
  EXPECT_TRUE(Has(bulk.RenderBars(200), "  exporting   [")) << bulk.RenderBars(200);
  bulk.OnWindowStage(1, WindowStage::kDownloading, 4000);  // the manifest lists history versions
  EXPECT_TRUE(Has(bulk.RenderBars(200), "  downloading [--------------------] 0/4,000"))
      << bulk.RenderBars(200);
  bulk.OnWindowStage(1, WindowStage::kLoading, -1);
  bulk.OnResourcesExtracted(1, "Patient", 1000);
  bulk.OnBatchLoaded({1, "Patient", 1000, 0});
  EXPECT_TRUE(Has(bulk.RenderBars(200), "  loading     [#####---------------] 1,000/4,000"))
      << bulk.RenderBars(200);

  TerminalProgress import(Bars(WindowStage::kExporting), clock);
  import.OnWindowStarted(W(1, 2000));
  import.OnWindowStage(1, WindowStage::kImporting, 2000);
  EXPECT_TRUE(Has(import.RenderBars(200), "  importing   [")) << import.RenderBars(200);
}

// A window holding more than counted (deletions, history versions) never
// reads "more loaded than there are", in the window line or the whole.
TEST(TerminalProgress, MoreThanExpectedNeverReadsAsMoreThanTheWhole) {
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  TerminalProgress p(Bars(), clock);
  p.OnPlanned({1, 100, {}});
  p.OnWindowStarted(W(1, 100));
  p.OnResourcesExtracted(1, "Patient", 150);
  p.OnBatchLoaded({1, "Patient", 140, 0});
  std::string bars = p.RenderBars(200);
  EXPECT_TRUE(Has(bars, "[###################-] 140/150")) << bars;
  EXPECT_TRUE(Has(bars, "100% of 100 resources")) << bars;
  EXPECT_TRUE(Has(bars, "ETA finishing")) << bars;
}

TEST(TerminalProgress, PlainModeEndsWithTheElapsedTimeAndMeanRateWithoutEscapes) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  env::ManualClock clock(T("2024-06-01T12:00:00Z"));
  TerminalOptions o;
  o.tty = false;
  o.fd = fds[1];
  {
    TerminalProgress p(o, clock);
    p.Start();
    p.OnPlanStarted();
    p.OnWindowPlanned(W(1, 300));
    p.OnPlanned({1, 300, {{"Patient", 300}}});
    p.OnWindowStarted(W(1, 300));
    clock.Advance(base::Millis(1500));
    p.OnResourcesExtracted(1, "Patient", 300);
    p.OnBatchLoaded({1, "Patient", 300, 0});
    p.OnWindowLoaded(Done(W(1, 300), 300, 300));
    p.Stop();
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_TRUE(Has(out,
                  "progress: done, 1/1 windows loaded, 0 in flight, 100% of 300 resources, 300 "
                  "loaded, 0 failed, 300 read, done in 1.5s, mean 200/s"))
      << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
}

}  // namespace
}  // namespace fm::cli
