#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

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

TEST(ConfigTest, PerTypeModeIsOneMigrationKeyForSearchAndBulk) {
  auto off = LoadConfig(Sources(std::nullopt, kUrls));
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->migration.plan.per_type);
  std::string file = WriteTemp("[migration]\nper_type = true\n");
  auto on = LoadConfig(Sources(file, kUrls));
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->migration.plan.per_type);
  setenv("FHIR_MIGRATE_MIGRATION_PER_TYPE", "true", 1);
  auto env = LoadConfig(Sources(std::nullopt, kUrls));
  unsetenv("FHIR_MIGRATE_MIGRATION_PER_TYPE");
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_TRUE(env->migration.plan.per_type);
  auto overrides = kUrls;
  overrides.push_back("bulk.per_type=true");  // the old key is gone
  auto old = LoadConfig(Sources(std::nullopt, overrides));
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message.find("bulk.per_type"), std::string::npos) << old.error().message;
}

TEST(ConfigTest, AnUnknownKeyIsAnErrorNamingIt) {
  std::string file = WriteTemp("[rest]\nbatchsize = 50\n");
  auto c = LoadConfig(Sources(file, kUrls));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("rest.batchsize"), std::string::npos) << c.error().message;
}

TEST(ConfigTest, AnUnknownKeySuggestsTheNearestOne) {
  std::string file = WriteTemp("[rest]\nbatchsize = 50\n");
  auto c = LoadConfig(Sources(file, kUrls));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, base::ErrorKind::kConfig);
  EXPECT_NE(c.error().message.find("(did you mean 'rest.batch_size'?)"), std::string::npos)
      << c.error().message;
  auto far = LoadConfig(Sources(
      std::nullopt, {"source.url=http://a", "destination.url=http://b", "colour.scheme=dark"}));
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().message.find("did you mean"), std::string::npos) << far.error().message;
}

// poll_interval=0, http.timeout=0 and window=99999999d were accepted; each is
// refused now with the key named. window=0d blamed min_window.
TEST(ConfigTest, OutOfRangeDurationsAreRefusedNamingTheirKey) {
  for (const char* bad : {"migration.poll_interval=0", "http.timeout=0s", "migration.window=0d",
                          "migration.window=99999999d", "migration.min_window=0",
                          "bulk.poll_interval=0", "migration.safety_lag=99999999d"}) {
    auto o = kUrls;
    o.push_back(bad);
    auto c = LoadConfig(Sources(std::nullopt, o));
    ASSERT_FALSE(c.ok()) << bad << " was accepted";
    EXPECT_EQ(c.error().kind, base::ErrorKind::kConfig);
    std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_NE(c.error().message.find(key + ":"), std::string::npos)
        << bad << ": " << c.error().message;
    if (key == "migration.window") {
      EXPECT_EQ(c.error().message.find("min_window"), std::string::npos) << c.error().message;
    }
  }
  auto o = kUrls;
  o.push_back("migration.window=30s");  // shorter than min_window (1m): both named
  auto c = LoadConfig(Sources(std::nullopt, o));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("migration.window (30s) is shorter than migration.min_window "
                                   "(1m)"),
            std::string::npos)
      << c.error().message;
  o = kUrls;
  o.push_back("migration.poll_interval=200ms");
  o.push_back("migration.window=3650d");
  EXPECT_TRUE(LoadConfig(Sources(std::nullopt, o)).ok());
}

// `init` wrote fhir-migrate.toml, but the next command read it only with -c.
TEST(ConfigTest, TheConfigFileIsFoundWithoutDashCAndNamed) {
  char tmpl[] = "/tmp/fm_config_dir_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ConfigSources s;
  s.discover = true;
  s.discover_path = dir + "/fhir-migrate.toml";
  auto none = LoadConfig(s);
  ASSERT_FALSE(none.ok());  // no file, no URLs
  EXPECT_NE(none.error().message.find("a config file (-c)"), std::string::npos)
      << none.error().message;
  s.overrides = kUrls;
  auto defaults = LoadConfig(s);
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(ConfigOrigin(*defaults), "no config file, defaults + environment");
  std::ofstream(s.discover_path) << "[source]\nurl = \"http://found/fhir\"\n"
                                 << "[destination]\nurl = \"http://b/fhir\"\n";
  s.overrides.clear();
  auto found = LoadConfig(s);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->source.url, "http://found/fhir");
  EXPECT_EQ(ConfigOrigin(*found), "config file " + s.discover_path + " (then environment and -o)");
  s.discover = false;  // what a library caller gets: nothing read behind its back
  EXPECT_FALSE(LoadConfig(s).ok());
}

TEST(ConfigTest, CommandsThatReadOnlyTheStateNeedNoServerUrls) {
  ConfigSources s;
  s.require_servers = false;
  s.overrides = {"state.path=/tmp/x.db"};
  auto c = LoadConfig(s);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state_path, "/tmp/x.db");
}

TEST(ConfigTest, ABadValueNamesTheKeyAndTheProblem) {
  auto c = LoadConfig(Sources(std::nullopt, {"source.url=http://a", "destination.url=http://b",
                                             "migration.window=30 fortnights"}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("migration.window"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("fortnights"), std::string::npos) << c.error().message;
}

TEST(ConfigTest, VerifyFullViaDefaultsToAutoAndTakesOnlyItsThreeValues) {
  auto c = LoadConfig(Sources(std::nullopt, kUrls));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->verify.full_via, verify::FullVia::kAuto);
  auto o = kUrls;
  o.push_back("verify.full_via=search");
  c = LoadConfig(Sources(std::nullopt, o));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->verify.full_via, verify::FullVia::kSearch);
  o.back() = "verify.full_via=bulk";
  c = LoadConfig(Sources(std::nullopt, o));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("verify.full_via"), std::string::npos) << c.error().message;
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

TEST(ConfigAuthTest, NestedAuthTablesAndDottedKeysLoad) {
  std::string file = WriteTemp(
      "[source]\nurl = \"https://a/fhir\"\n[source.auth]\nkind = \"smart\"\n"
      "client_id = \"c\"\nscope = \"system/*.read\"\nprivate_key_file = \"/k.pem\"\n"
      "alg = \"ES384\"\n[destination]\nurl = \"https://b/fhir\"\n"
      "auth.kind = \"client_credentials\"\nauth.token_url = \"https://login/t\"\n"
      "auth.client_id = \"d\"\nauth.client_secret_env = \"DEST_SECRET\"\n"
      "[security]\nallowed_origins = [\"https://*.blob.core.windows.net\"]\n");
  auto c = LoadConfig(Sources(file));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source.auth.kind, "smart");
  EXPECT_EQ(c->source.auth.alg, "ES384");
  EXPECT_EQ(c->destination.auth.client_secret_env, "DEST_SECRET");
  EXPECT_EQ(c->allowed_origins, std::vector<std::string>{"https://*.blob.core.windows.net"});
  EXPECT_TRUE(c->warnings.empty());  // mkstemp files are 0600
  chmod(file.c_str(), 0644);
  auto loose = LoadConfig(Sources(file));
  ASSERT_TRUE(loose.ok());
  ASSERT_EQ(loose->warnings.size(), 1u);
  EXPECT_NE(loose->warnings[0].find("readable by group or others"), std::string::npos);
}

TEST(ConfigAuthTest, SecretsAreRefusedAsValuesAndIncompleteAuthIsReported) {
  std::vector<std::string> o = kUrls;
  o.push_back("source.auth.client_secret=hunter2");
  auto c = LoadConfig(Sources(std::nullopt, o));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("never taken from the command line"), std::string::npos);
  EXPECT_EQ(c.error().message.find("hunter2"), std::string::npos);
  o = kUrls;
  o.push_back("destination.auth.password=x");
  EXPECT_FALSE(LoadConfig(Sources(std::nullopt, o)).ok());
  o = kUrls;
  o.push_back("source.auth.kind=client_credentials");
  auto incomplete = LoadConfig(Sources(std::nullopt, o));
  ASSERT_FALSE(incomplete.ok());
  EXPECT_NE(incomplete.error().message.find("source.auth.token_url is required"),
            std::string::npos)
      << incomplete.error().message;
  o = kUrls;
  o.push_back("source.auth.kind=kerberos");
  EXPECT_FALSE(LoadConfig(Sources(std::nullopt, o)).ok());
  o = kUrls;
  o.push_back("security.allowed_origins=ftp://x");
  EXPECT_FALSE(LoadConfig(Sources(std::nullopt, o)).ok());
}

// docs/configuration.md embeds the generated reference; regenerate it with
// `fhir-migrate init --reference` when a key changes.
TEST(ConfigTest, TheConfigurationDocListsEveryKey) {
  const char* src = std::getenv("FM_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/docs/configuration.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find(ConfigReferenceMarkdown()), std::string::npos)
      << "docs/configuration.md is out of date: paste `fhir-migrate init --reference` into it";
}

TEST(ConfigAuthTest, ControlCharactersAreRefusedBeforeParsing) {
  std::string file = WriteTemp(std::string("[source]\nurl = \"http://a\"\n[\x05\0\0\0ce.auth]\n", 30));
  auto c = LoadConfig(Sources(file, kUrls));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(":3: control character 5"), std::string::npos)
      << c.error().message;
}

// Regression story: fuzzing found that a non-ASCII character in a bare key
// drives the TOML library into unreachable code; such text is refused first.
TEST(ConfigTest, NonAsciiOutsideStringsIsRefusedWithTheLine) {
  std::string file = WriteTemp("[rest]\nbatch\xef\xb9\xbf = 5\n");
  auto c = LoadConfig(Sources(file, kUrls));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(":2: non-ASCII"), std::string::npos) << c.error().message;
  std::string ok = WriteTemp("# caf\xc3\xa9\n[migration]\ntypes = [\"Patient\"] # \xc3\xa9\n");
  auto d = LoadConfig(Sources(ok, kUrls));
  EXPECT_TRUE(d.ok()) << d.error().message;
}

TEST(ConfigTest, EnvironmentNames) {
  EXPECT_EQ(EnvName("rest.batch_size"), "FHIR_MIGRATE_REST_BATCH_SIZE");
}

}  // namespace
}  // namespace fm::cli
