// On a terminal (a pseudo-terminal here) `run` draws progress bars redrawn in
// place; piped, it prints plain summary lines and no escape sequence.
// Search windows were labelled "exporting" and the ETA read "--" until a
// window was loaded.
#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/compare.h"

namespace fm::harness {
namespace {

std::vector<std::string> Args(FhirServer& source, FhirServer& destination,
                              const std::string& state) {
  return {FhirMigrateBinary(),
          "-o",
          "source.url=" + source.base_url(),
          "-o",
          "destination.url=" + destination.base_url(),
          "-o",
          "state.path=" + state,
          "-o",
          "migration.window=30d",
          "-o",
          "rest.batch_size=20",
          "run",
          "--once"};
}

const std::regex kBar(R"(\[[#-]{24}\] \d+/\d+ windows)");

TEST(TtyProgressTest, BarsOnATerminalPlainLinesWhenPiped) {
  FhirServer source("source");
  FhirServer destination("destination");
  source.LoadNdjson(Generate(2000, 4, "2022-01-01", "2023-06-01"));
  std::string dir = TempDir("fm_tty");

  auto tty = RunOnTerminal(Args(source, destination, dir + "/tty.db"));
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_TRUE(std::regex_search(tty.out, kBar)) << tty.out;
  EXPECT_NE(tty.out.find("retries"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("ETA"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\x1b["), std::string::npos) << "bars are redrawn in place";
  EXPECT_TRUE(std::regex_search(tty.out, std::regex(R"(\] (\d+)/\1 windows)")))
      << "all done at the end";
  // A search run: its windows search and load, they never export; the ETA
  // comes from counts, never "--"; the end gives the time and the mean rate.
  EXPECT_EQ(tty.out.find("exporting"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("searching"), std::string::npos) << tty.out;
  EXPECT_EQ(tty.out.find("ETA --"), std::string::npos) << tty.out;
  EXPECT_TRUE(std::regex_search(
      tty.out, std::regex(R"(100% of [\d,]+ resources  done in [\d.]+s, mean [\d,.]+/s)")))
      << tty.out;

  auto piped = harness::Run(Args(source, destination, dir + "/piped.db"));
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_FALSE(std::regex_search(piped.err, kBar)) << piped.err;
  EXPECT_EQ(piped.err.find("\x1b["), std::string::npos) << piped.err;
  EXPECT_NE(piped.err.find("progress: "), std::string::npos) << piped.err;
  EXPECT_TRUE(std::regex_search(piped.err, std::regex(R"(progress: .* (\d+)/\1 windows loaded)")))
      << piped.err;
  EXPECT_TRUE(
      std::regex_search(piped.err, std::regex(R"(run finished in [\d.]+s: .* \(mean [\d,.]+/s\))")))
      << piped.err;
}

}  // namespace
}  // namespace fm::harness
