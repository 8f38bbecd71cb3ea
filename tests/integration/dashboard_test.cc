// Opens the dashboard in headless Chromium (tests/browser/dashboard.test.mjs,
// driven by playwright-core) while a real migration runs, and checks that the
// timeline and the chart render and update. The screenshot lands in
// FM_BINARY_DIR/dashboard.png.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/integration/live_run.h"

namespace fm::harness {
namespace {

TEST(DashboardTest, TimelineAndChartRenderAndUpdateInChromium) {
  if (::access("/usr/bin/chromium", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/chromium is absent: install the Debian package `chromium` "
                    "(scripts/install-deps.sh) to run the browser test";
  }
  FhirServer source("source");
  FhirServer destination("destination");
  source.LoadNdjson(Generate(20000, 21, "2019-01-01", "2024-01-01"));
  std::string dir = TempDir("fm_dashboard");
  LiveRun run(source, destination, dir,
              {"migration.window=30d", "rest.batch_size=10", "rest.concurrency=1",
               "search.page_size=50", "migration.poll_interval=1h"});
  std::string shot = BinaryDir() + "/dashboard.png";
  auto r = harness::Run({NodeBinary(), SourceDir() + "/tests/browser/dashboard.test.mjs", run.base() + "/",
                shot},
               {}, std::chrono::minutes(4));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n--- fhir-migrate:\n" << run.log();
  std::cout << r.out;
  EXPECT_FALSE(ReadFile(shot).empty()) << shot;
  EXPECT_EQ(run.Stop(), 0) << "SIGTERM stops a run gracefully\n" << run.log();
}

}  // namespace
}  // namespace fm::harness
