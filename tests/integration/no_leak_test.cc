// Credentials end to end and the log-scraping test: full migrations at
// log.level=trace with every auth kind against loopback token endpoints
// that check what they receive, and test FHIR servers that require the
// issued bearer token (the `bearerToken` fault switch, re-armed with every
// newly issued token so an old one stops working). Tokens live 2 seconds,
// so they are refreshed many times during the run. Afterwards stdout,
// stderr, `status --json`, `failures list` and the state file must hold no
// token, secret, JWT, private key material or resource content.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/auth_test_keys.h"
#include "auth/jwt.h"
#include "base/strings.h"
#include "tests/integration/compare.h"
#include "tests/support/loopback_server.h"

namespace fm::harness {
namespace {

using test_support::LoopbackRequest;
using test_support::LoopbackResponse;
using test_support::LoopbackServer;

constexpr char kMarker[] = "ZZLEAKMARKER7731";
constexpr char kClientSecret[] = "cs-SECRET-9f8e7d6c";
constexpr char kStaticToken[] = "static-BEARER-5a4b3c";
constexpr char kPassword[] = "pw-SECRET-1q2w3e";

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  for (auto pair : base::Split(body, '&')) {
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    out[base::UrlDecode(pair.substr(0, eq))] = base::UrlDecode(pair.substr(eq + 1));
  }
  return out;
}

LoopbackResponse Json(int status, const nlohmann::json& body) {
  return {.status = status, .headers = {{"Content-Type", "application/json"}}, .body = body.dump()};
}

class NoLeakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::testing::GenerateKey(rsa, false);
    auth::testing::GenerateKey(ec, true);
    rsa_path = dir + "/rsa.pem";
    ec_path = dir + "/ec.pem";
    secret_path = dir + "/client_secret";
    for (auto [path, content] : {std::pair{rsa_path, rsa.private_pem},
                                 std::pair{ec_path, ec.private_pem},
                                 std::pair{secret_path, std::string(kClientSecret) + "\n"}}) {
      std::ofstream(path) << content;
      ::chmod(path.c_str(), 0600);
    }
    setenv("FM_TEST_CLIENT_SECRET", kClientSecret, 1);
    setenv("FM_TEST_STATIC_TOKEN", kStaticToken, 1);
    setenv("FM_TEST_PASSWORD", kPassword, 1);
    std::string ndjson = Generate(400, 11, "2023-01-01", "2023-04-01");
    ndjson += R"({"resourceType":"Patient","id":"leak-marker","meta":{"lastUpdated":"2023-02-01T00:00:00.000Z"},"name":[{"family":")" +
              std::string(kMarker) + R"("}]})" + "\n";
    source.LoadNdjson(ndjson);
  }

  // "/<server>/<kind>": a token endpoint for one server that checks the
  // request, issues a fresh token and makes the server accept only that one.
  LoopbackResponse Token(const LoopbackRequest& r) {
    const std::string path = r.path();
    auto segs = base::Split(path, '/');
    if (segs.size() != 3) return Json(404, {});
    std::string server(segs[1]), kind(segs[2]);
    auto refuse = [&](const std::string& why) {
      std::lock_guard lock(mu);
      refusals.push_back(server + "/" + kind + ": " + why);
      return Json(400, {{"error", "invalid_request"}, {"error_description", why}});
    };
    auto form = ParseForm(r.body);
    if (kind == "cc_post" || kind == "cc_basic") {
      if (form["grant_type"] != "client_credentials") return refuse("grant_type");
      if (form["scope"] != "system/*.*") return refuse("scope");
      if (kind == "cc_post" && (form["client_id"] != "migrator" ||
                                form["client_secret"] != kClientSecret)) {
        return refuse("client_secret_post fields");
      }
      const std::string* h = r.header("Authorization");
      if (kind == "cc_basic" &&
          (!h || *h != "Basic " + auth::Base64Encode(std::string("migrator:") +
                                                     base::UrlEncode(kClientSecret)))) {
        return refuse("client_secret_basic header");
      }
    } else if (kind == "smart_rs384" || kind == "smart_es384") {
      bool is_ec = kind == "smart_es384";
      std::string jwt = form["client_assertion"];
      if (form["client_assertion_type"] !=
          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        return refuse("client_assertion_type");
      }
      if (!auth::testing::VerifyJwt(jwt, is_ec ? ec.pkey : rsa.pkey, is_ec)) {
        return refuse("signature");
      }
      auto parts = base::Split(jwt, '.');
      auto claims = nlohmann::json::parse(*auth::Base64UrlDecode(parts[1]));
      if (claims["aud"] != token_server->url(r.path())) {
        return refuse("aud");
      }
      int64_t now = std::time(nullptr);
      if (claims["exp"].get<int64_t>() > now + 300) return refuse("exp");
      if (claims["iss"] != "migrator" || claims["sub"] != "migrator") return refuse("iss/sub");
      std::lock_guard lock(mu);
      if (!jtis.insert(claims["jti"].get<std::string>()).second) return refuse("jti reused");
    } else if (kind == "imds") {
      const std::string* m = r.header("Metadata");
      if (!m || *m != "true") return refuse("Metadata header");
      if (ParseForm(r.query())["resource"] != "https://fhir.example.test") return refuse("resource");
    } else {
      return Json(404, {});
    }
    std::string token;
    {
      std::lock_guard lock(mu);
      token = "tok-" + server + "-" + std::to_string(++issued[server]) + "-" + auth::RandomId();
      tokens.push_back(token);
    }
    // The old token stops working at once: the client must refresh. Source
    // pages come late enough that a run outlives several 2-second tokens.
    try {
      (server == "source" ? source : destination)
          .SetFaults(R"({"searchDelayMs":100,"bearerToken":")" + token + R"("})");
    } catch (const std::exception& e) {
      return refuse(std::string("arming the fault switch: ") + e.what());
    }
    return Json(200, {{"access_token", token}, {"token_type", "Bearer"}, {"expires_in", 2}});
  }

  std::vector<std::string> AuthOverrides(const std::string& server, const std::string& kind) {
    std::string p = server + ".auth.";
    std::string url = token_server->url("/" + server + "/");
    if (kind == "bearer") return {p + "kind=bearer", p + "token_env=FM_TEST_STATIC_TOKEN"};
    if (kind == "basic") {
      return {p + "kind=basic", p + "username=migrator", p + "password_env=FM_TEST_PASSWORD"};
    }
    if (kind == "cc_post") {
      return {p + "kind=client_credentials", p + "token_url=" + url + kind,
              p + "client_id=migrator", p + "scope=system/*.*",
              p + "client_secret_env=FM_TEST_CLIENT_SECRET"};
    }
    if (kind == "cc_basic") {
      return {p + "kind=client_credentials", p + "token_url=" + url + kind,
              p + "client_id=migrator", p + "scope=system/*.*",
              p + "client_auth=client_secret_basic", p + "client_secret_file=" + secret_path};
    }
    if (kind == "smart_rs384" || kind == "smart_es384") {
      bool is_ec = kind == "smart_es384";
      return {p + "kind=smart", p + "token_url=" + url + kind, p + "client_id=migrator",
              p + "scope=system/*.read", p + "kid=k1", p + std::string("alg=") + (is_ec ? "ES384" : "RS384"),
              p + "private_key_file=" + (is_ec ? ec_path : rsa_path)};
    }
    if (kind == "imds") {
      return {p + "kind=managed_identity", p + "imds_url=" + url + kind,
              p + "resource=https://fhir.example.test"};
    }
    return {};
  }

  // Every secret-looking thing the run must never print or store.
  void ExpectNoLeak(const std::string& where, const std::string& text) {
    std::vector<std::string> needles = {kMarker, kClientSecret, kStaticToken, kPassword,
                                        "eyJhbGciOi", "tok-source-", "tok-destination-",
                                        auth::Base64Encode(std::string("migrator:") + kPassword)};
    for (const auto* pem : {&rsa.private_pem, &ec.private_pem}) {
      needles.push_back(pem->substr(pem->find('\n') + 1, 40));  // key material
    }
    std::lock_guard lock(mu);
    for (const auto& t : tokens) needles.push_back(t);
    for (const auto& n : needles) {
      EXPECT_EQ(text.find(n), std::string::npos) << where << " leaks " << n;
    }
  }

  void Migrate(const std::string& source_kind, const std::string& destination_kind,
               bool source_requires_token, bool destination_requires_token) {
    SCOPED_TRACE(source_kind + " -> " + destination_kind);
    destination.Reset();
    std::string state = dir + "/" + source_kind + "-" + destination_kind + ".db";
    if (source_requires_token && source_kind == "bearer") {
      source.SetFaults(std::string(R"({"bearerToken":")") + kStaticToken + R"("})");
    } else if (!source_requires_token) {
      source.SetFaults("{}");
    }
    if (!destination_requires_token) destination.SetFaults("{}");
    int issued_before = 0;
    {
      std::lock_guard lock(mu);
      issued_before = issued["source"] + issued["destination"];
    }
    std::vector<std::string> o = {"log.level=trace", "migration.window=7d", "rest.batch_size=5",
                                  "rest.concurrency=2", "search.page_size=10",
                                  "migration.start=2023-01-01"};
    for (auto& x : AuthOverrides("source", source_kind)) o.push_back(x);
    for (auto& x : AuthOverrides("destination", destination_kind)) o.push_back(x);
    auto run = RunMigrate({"run", "--once"}, source, destination, state, o);
    EXPECT_EQ(run.exit_code, 0) << run.err.substr(run.err.size() > 4000 ? run.err.size() - 4000 : 0);
    EXPECT_GT(run.err.size() + run.out.size(), 1000u);  // trace really logged
    ExpectNoLeak("run stderr", run.err);
    ExpectNoLeak("run stdout", run.out);
    auto status = RunMigrate({"status", "--json"}, source, destination, state, o);
    EXPECT_EQ(status.exit_code, 0) << status.err;
    ExpectNoLeak("status", status.out + status.err);
    auto failures = RunMigrate({"failures", "list", "--json"}, source, destination, state, o);
    EXPECT_EQ(failures.exit_code, 0) << failures.err;
    ExpectNoLeak("failures", failures.out + failures.err);
    std::string stored;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().string().rfind(state, 0) == 0) stored += ReadFile(entry.path().string());
    }
    EXPECT_GT(stored.size(), 0u);
    ExpectNoLeak("state file", stored);
    {
      std::lock_guard lock(mu);
      EXPECT_TRUE(refusals.empty()) << refusals.front();
      int issued_now = issued["source"] + issued["destination"];
      if (source_requires_token && source_kind != "bearer" && source_kind != "basic") {
        // 2-second tokens over a run of several seconds: refreshed, never failed.
        EXPECT_GE(issued_now - issued_before, 2);
      }
    }
    source.SetFaults("{}");
    destination.SetFaults("{}");
    auto diffs = CompareServers(source, destination, {"Patient"});
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " differences, first: " << diffs.front();
  }

  FhirServer source{"source"};
  FhirServer destination{"destination"};
  std::string dir = TempDir("fm_noleak");
  auth::testing::KeyPair rsa, ec;
  std::string rsa_path, ec_path, secret_path;
  std::mutex mu;
  std::map<std::string, int> issued;
  std::vector<std::string> tokens;
  std::set<std::string> jtis;
  std::vector<std::string> refusals;
  std::unique_ptr<LoopbackServer> token_server =
      std::make_unique<LoopbackServer>([this](const LoopbackRequest& r) { return Token(r); });
};

TEST_F(NoLeakTest, SmartRs384ToClientSecretPost) { Migrate("smart_rs384", "cc_post", true, true); }

TEST_F(NoLeakTest, ManagedIdentityToClientSecretBasic) {
  Migrate("imds", "cc_basic", true, true);
}

TEST_F(NoLeakTest, SmartEs384ToStaticBearerAndBasic) {
  Migrate("smart_es384", "basic", true, false);
  Migrate("bearer", "basic", true, false);
}

TEST_F(NoLeakTest, SecretsAreRefusedOnTheCommandLine) {
  std::string state = dir + "/cli.db";
  auto run = RunMigrate({"status"}, source, destination, state,
                        {"source.auth.client_secret=" + std::string(kClientSecret)});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("secrets are never taken from the command line"), std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find(kClientSecret), std::string::npos) << run.err;
}

}  // namespace
}  // namespace fm::harness
