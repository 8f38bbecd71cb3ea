#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "cli/config.h"

namespace fm::cli {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/fm_config_test_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

ConfigSources Sources(std::optional<std::string> file, std::vector<std::string> overrides = {}) {
  ConfigSources s;
  s.file = std::move(file);
  s.overrides = std::move(overrides);
  return s;
}

const std::vector<std::string> kUrls = {"source.url=http://a/fhir", "destination.url=http://b/fhir"};

TEST(ConfigTest, DefaultsAreFilledFromTheTable) {
  auto c = LoadConfig(Sources(std::nullopt, kUrls));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->migration.plan.window, base::Millis(30LL * 86'400'000));
  EXPECT_EQ(c->migration.rest.batch_size, 100);
  EXPECT_EQ(c->state_path, "fhir-migrate.db");
  EXPECT_TRUE(c->curl.verify_tls);
}

TEST(ConfigTest, FileThenEnvironmentThenFlags) {
  std::string file = WriteTemp(
      "[source]\nurl = \"http://src/fhir/\"\n[destination]\nurl = \"http://dst/fhir\"\n"
      "[rest]\nbatch_size = 50\nconcurrency = 2\n[migration]\nwindow = \"7d\"\n"
      "types = [\"Patient\", \"Observation\"]\n");
  setenv("FHIR_MIGRATE_REST_CONCURRENCY", "6", 1);
  auto c = LoadConfig(Sources(file, {"rest.batch_size=25"}));
  unsetenv("FHIR_MIGRATE_REST_CONCURRENCY");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source.url, "http://src/fhir");  // trailing slash dropped, path kept
  EXPECT_EQ(c->migration.rest.batch_size, 25);
  EXPECT_EQ(c->migration.rest.concurrency, 6);
  EXPECT_EQ(c->migration.plan.window, base::Millis(7LL * 86'400'000));
  EXPECT_EQ(c->migration.plan.types, (std::vector<std::string>{"Patient", "Observation"}));
}

TEST(ConfigTest, AnUnknownKeyIsAnErrorNamingIt) {
  std::string file = WriteTemp("[rest]\nbatchsize = 50\n");
  auto c = LoadConfig(Sources(file, kUrls));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("rest.batchsize"), std::string::npos) << c.error().message;
}

TEST(ConfigTest, ABadValueNamesTheKeyAndTheProblem) {
  auto c = LoadConfig(Sources(std::nullopt, {"source.url=http://a", "destination.url=http://b",
                                             "migration.window=30 fortnights"}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("migration.window"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("fortnights"), std::string::npos) << c.error().message;
}

TEST(ConfigTest, MissingUrlsAreReported) {
  auto c = LoadConfig(Sources(std::nullopt));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("source.url"), std::string::npos);
}

TEST(ConfigTest, TheExampleConfigLoadsBack) {
  std::string file = WriteTemp(ExampleConfig());
  auto c = LoadConfig(Sources(file));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source.url, "http://127.0.0.1:8080/fhir");
}

TEST(ConfigTest, EnvironmentNames) {
  EXPECT_EQ(EnvName("rest.batch_size"), "FHIR_MIGRATE_REST_BATCH_SIZE");
}

}  // namespace
}  // namespace fm::cli
