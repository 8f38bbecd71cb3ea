#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "auth/auth_test_keys.h"
#include "auth/authorizing_transport.h"
#include "auth/jwt.h"
#include "auth/token_provider.h"
#include "base/strings.h"
#include "env/clock.h"
#include "http/transport.h"
#include "tests/support/loopback_server.h"

namespace fm::auth {
namespace {

using test_support::LoopbackRequest;
using test_support::LoopbackResponse;
using test_support::LoopbackServer;

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

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/fm_auth_" + name;
  std::ofstream(path) << content;
  return path;
}

class AuthTest : public ::testing::Test {
 public:
  std::unique_ptr<http::Transport> curl = http::NewCurlTransport({});
  std::unique_ptr<env::Clock> clock = env::NewSystemClock();
};

// A SMART token endpoint that checks what it receives.
struct SmartEndpoint {
  EVP_PKEY* pkey;
  bool ec;
  std::string client_id = "svc-client";
  std::string kid = "key-1";
  std::string alg;
  int expires_in = 300;
  std::mutex mu;
  std::set<std::string> seen_jti;
  std::vector<std::string> failures;
  std::atomic<int> issued{0};
  std::string token_url;  // set after the server starts

  LoopbackResponse Handle(const LoopbackRequest& r, const std::string& base_url) {
    if (r.path() == "/fhir/.well-known/smart-configuration") {
      if (!r.header("Accept") || r.header("Accept")->find("application/json") == std::string::npos) {
        return Json(406, {{"error", "accept"}});
      }
      return Json(200, {{"token_endpoint", base_url + "/auth/token"},
                        {"token_endpoint_auth_signing_alg_values_supported", {"RS384", "ES384"}}});
    }
    if (r.path() != "/auth/token" || r.method != "POST") return Json(404, {});
    auto fail = [&](const std::string& why) {
      std::lock_guard lock(mu);
      failures.push_back(why);
      return Json(400, {{"error", "invalid_client"}, {"error_description", why}});
    };
    const std::string* ct = r.header("Content-Type");
    if (!ct || *ct != "application/x-www-form-urlencoded") return fail("content type");
    auto form = ParseForm(r.body);
    if (form["grant_type"] != "client_credentials") return fail("grant_type");
    if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return fail("client_assertion_type");
    }
    if (form["scope"] != "system/*.read") return fail("scope");
    const std::string& jwt = form["client_assertion"];
    if (!testing::VerifyJwt(jwt, pkey, ec)) return fail("signature");
    auto parts = base::Split(jwt, '.');
    auto header = nlohmann::json::parse(*Base64UrlDecode(parts[0]));
    auto claims = nlohmann::json::parse(*Base64UrlDecode(parts[1]));
    if (header["alg"] != alg || header["typ"] != "JWT" || header["kid"] != kid) return fail("header");
    if (claims["iss"] != client_id || claims["sub"] != client_id) return fail("iss/sub");
    if (claims["aud"] != token_url) return fail("aud");
    int64_t now = std::time(nullptr);
    int64_t exp = claims["exp"].get<int64_t>();
    if (exp <= now || exp > now + 300) return fail("exp");
    std::string jti = claims["jti"];
    {
      std::lock_guard lock(mu);
      if (jti.empty() || !seen_jti.insert(jti).second) {
        failures.push_back("jti reused");
        return Json(400, {{"error", "invalid_grant"}, {"error_description", "jti reused"}});
      }
    }
    int n = ++issued;
    return Json(200, {{"access_token", "smart-token-" + std::to_string(n)},
                      {"token_type", "bearer"},
                      {"expires_in", expires_in},
                      {"scope", "system/*.read"}});
  }
};

void RunSmart(AuthTest& t, bool ec) {
  testing::KeyPair key;
  testing::GenerateKey(key, ec);
  SmartEndpoint endpoint{.pkey = key.pkey, .ec = ec, .alg = ec ? "ES384" : "RS384"};
  std::string base_url;
  LoopbackServer server([&](const LoopbackRequest& r) { return endpoint.Handle(r, base_url); });
  base_url = "http://127.0.0.1:" + std::to_string(server.port());
  endpoint.token_url = base_url + "/auth/token";

  AuthOptions o;
  o.kind = "smart";
  o.client_id = endpoint.client_id;
  o.kid = endpoint.kid;
  o.alg = endpoint.alg;
  o.scope = "system/*.read";
  o.private_key_file = WriteTemp(ec ? "ec.pem" : "rsa.pem", key.private_pem);
  // A manual clock from the real time (the endpoint checks exp against it):
  // the two seconds a forced refresh waits pass without sleeping.
  env::ManualClock manual(t.clock->Now());
  auto provider = NewTokenProvider(o, "source.auth", base_url + "/fhir", *t.curl, manual);
  auto h1 = provider->AuthorizationHeader(false);
  ASSERT_TRUE(h1.ok()) << h1.error().message;
  EXPECT_EQ(*h1, "Bearer smart-token-1");
  // Cached.
  EXPECT_EQ(*provider->AuthorizationHeader(false), "Bearer smart-token-1");
  EXPECT_EQ(endpoint.issued.load(), 1);
  // A forced refresh right after a refresh shares it; later it signs a new JWT (new jti).
  manual.Advance(std::chrono::milliseconds(2100));
  auto h2 = provider->AuthorizationHeader(true);
  ASSERT_TRUE(h2.ok()) << h2.error().message;
  EXPECT_EQ(*h2, "Bearer smart-token-2");
  EXPECT_TRUE(endpoint.failures.empty()) << endpoint.failures.front();
  EXPECT_EQ(endpoint.seen_jti.size(), 2u);
}

TEST_F(AuthTest, SmartBackendServicesRs384) { RunSmart(*this, false); }
TEST_F(AuthTest, SmartBackendServicesEs384) { RunSmart(*this, true); }

TEST_F(AuthTest, JwtHasTheRequiredClaimsAndAReusedJtiIsRefused) {
  testing::KeyPair key;
  testing::GenerateKey(key, false);
  auto signer = JwtSigner::FromPem(key.private_pem, "RS384");
  ASSERT_TRUE(signer.ok());
  auto now = clock->Now();
  std::string a = BackendServicesClaims("c", "https://t/token", now, std::chrono::minutes(10));
  std::string b = BackendServicesClaims("c", "https://t/token", now, std::chrono::minutes(4));
  auto ca = nlohmann::json::parse(a);
  EXPECT_LE(ca["exp"].get<int64_t>() - base::ToEpochMillis(now) / 1000, 300);  // clamped to 5 min
  EXPECT_NE(ca["jti"], nlohmann::json::parse(b)["jti"]);
  auto jwt = (*signer)->Sign("k", a);
  ASSERT_TRUE(jwt.ok());
  EXPECT_TRUE(testing::VerifyJwt(*jwt, key.pkey, false));
  // Tampered payload fails verification.
  std::string bad = *jwt;
  bad[bad.find('.') + 3] ^= 1;
  EXPECT_FALSE(testing::VerifyJwt(bad, key.pkey, false));
  // Wrong key type for the alg.
  EXPECT_FALSE(JwtSigner::FromPem(key.private_pem, "ES384").ok());
  EXPECT_FALSE(JwtSigner::FromPem("not a key", "RS384").ok());

  // The token endpoint refuses a replayed assertion.
  SmartEndpoint endpoint{.pkey = key.pkey, .ec = false, .alg = "RS384"};
  endpoint.kid = "k";
  endpoint.client_id = "c";
  LoopbackServer server([&](const LoopbackRequest& r) { return endpoint.Handle(r, ""); });
  endpoint.token_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/auth/token";
  std::string claims = BackendServicesClaims("c", endpoint.token_url, now, std::chrono::minutes(4));
  std::string assertion = *(*signer)->Sign("k", claims);
  std::string body = "grant_type=client_credentials&scope=system%2F%2A.read&client_assertion_type=" +
                     base::UrlEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                     "&client_assertion=" + assertion;
  http::Request r{.method = "POST", .url = endpoint.token_url,
                  .headers = {{"Content-Type", "application/x-www-form-urlencoded"}}, .body = body};
  EXPECT_EQ(curl->Send(r)->status, 200);
  EXPECT_EQ(curl->Send(r)->status, 400);
}

TEST_F(AuthTest, ClientCredentialsPostAndBasic) {
  for (std::string method : {"client_secret_post", "client_secret_basic"}) {
    std::atomic<int> issued{0};
    std::string failure;
    LoopbackServer server([&](const LoopbackRequest& r) {
      auto form = ParseForm(r.body);
      bool ok = form["grant_type"] == "client_credentials" &&
                form["scope"] == "https://fhir.example/.default" && form["resource"].empty();
      if (method == "client_secret_post") {
        ok = ok && form["client_id"] == "app id" && form["client_secret"] == "s3cr&t" &&
             !r.header("Authorization");
      } else {
        const std::string* h = r.header("Authorization");
        ok = ok && h && *h == "Basic " + Base64Encode("app%20id:s3cr%26t") &&
             !form.count("client_secret");
      }
      if (!ok) {
        failure = r.body;
        return Json(401, {{"error", "invalid_client"}});
      }
      return Json(200, {{"access_token", "cc-" + std::to_string(++issued)}, {"expires_in", 3600}});
    });
    setenv("FM_TEST_CC_SECRET", "s3cr&t", 1);
    AuthOptions o;
    o.kind = "client_credentials";
    o.token_url = server.url("/oauth2/v2.0/token");
    o.client_id = "app id";
    o.client_auth = method;
    o.scope = "https://fhir.example/.default";
    o.client_secret_env = "FM_TEST_CC_SECRET";
    auto provider = NewTokenProvider(o, "destination.auth", "http://fhir.example/fhir", *curl, *clock);
    auto h = provider->AuthorizationHeader(false);
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_EQ(*h, "Bearer cc-1") << method << " " << failure;
  }
}

TEST_F(AuthTest, ErrorsNameTheKeyNeverTheSecret) {
  LoopbackServer server([&](const LoopbackRequest&) {
    return Json(401, {{"error", "invalid_client"}, {"error_description", "bad secret"}});
  });
  setenv("FM_TEST_CC_SECRET2", "TOPSECRET-123", 1);
  AuthOptions o;
  o.kind = "client_credentials";
  o.token_url = server.url("/token?code=abc");
  o.client_id = "id";
  o.client_secret_env = "FM_TEST_CC_SECRET2";
  auto provider = NewTokenProvider(o, "source.auth", "http://x/fhir", *curl, *clock);
  auto h = provider->AuthorizationHeader(false);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().kind, base::ErrorKind::kUnauthorized);
  EXPECT_NE(h.error().message.find("invalid_client: bad secret"), std::string::npos);
  EXPECT_EQ(h.error().message.find("TOPSECRET"), std::string::npos);
  EXPECT_EQ(h.error().message.find("abc"), std::string::npos) << h.error().message;

  o.client_secret_env = "FM_TEST_UNSET_VARIABLE";
  auto missing = NewTokenProvider(o, "source.auth", "http://x/fhir", *curl, *clock)
                     ->AuthorizationHeader(false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("FM_TEST_UNSET_VARIABLE is not set"), std::string::npos);
  EXPECT_FALSE(ValidateAuthOptions({.kind = "kerberos"}, "source.auth").ok());
  EXPECT_FALSE(ValidateAuthOptions({.kind = "smart"}, "source.auth").ok());
}

// An unset token_env variable was found only at the first request, in the
// middle of a run, and ended it with exit code 1. CheckCredentials finds it
// at start-up, as a configuration error naming the variable.
TEST_F(AuthTest, AnUnsetSecretVariableIsAConfigErrorFoundBeforeAnyRequest) {
  unsetenv("FM_TEST_UNSET_TOKEN");
  AuthOptions b{.kind = "bearer"};
  b.token_env = "FM_TEST_UNSET_TOKEN";
  auto s = CheckCredentials(b, "source.auth");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, base::ErrorKind::kConfig);
  EXPECT_NE(s.error().message.find("source.auth.token: environment variable FM_TEST_UNSET_TOKEN "
                                   "is not set"),
            std::string::npos)
      << s.error().message;
  setenv("FM_TEST_UNSET_TOKEN", "tok", 1);
  EXPECT_TRUE(CheckCredentials(b, "source.auth").ok());
  unsetenv("FM_TEST_UNSET_TOKEN");
  AuthOptions smart{.kind = "smart"};
  smart.client_id = "c";
  smart.scope = "system/*.read";
  smart.private_key_file = "/nonexistent/key.pem";
  auto key = CheckCredentials(smart, "destination.auth");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().kind, base::ErrorKind::kConfig);
  EXPECT_NE(key.error().message.find("destination.auth.private_key_file"), std::string::npos);
  EXPECT_TRUE(CheckCredentials({}, "source.auth").ok());  // kind none
}

TEST_F(AuthTest, ManagedIdentitySendsMetadataAndResource) {
  LoopbackServer server([&](const LoopbackRequest& r) {
    const std::string* m = r.header("Metadata");
    if (!m || *m != "true") return Json(400, {{"error", "invalid_request"}});
    auto q = ParseForm(r.query());
    if (r.method != "GET" || q["resource"] != "https://fhir.azurehealthcareapis.com" ||
        q["api-version"].empty()) {
      return Json(400, {{"error", "invalid_resource"}});
    }
    return Json(200, {{"access_token", "mi-token"}, {"expires_in", "3599"}});
  });
  AuthOptions o;
  o.kind = "managed_identity";
  o.resource = "https://fhir.azurehealthcareapis.com";
  o.imds_url = server.url("/metadata/identity/oauth2/token");
  auto h = NewTokenProvider(o, "source.auth", "http://x/fhir", *curl, *clock)->AuthorizationHeader(false);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(*h, "Bearer mi-token");
}

TEST_F(AuthTest, StaticBearerAndBasicFromEnvAndFile) {
  setenv("FM_TEST_BEARER", "static-tok", 1);
  AuthOptions b{.kind = "bearer"};
  b.token_env = "FM_TEST_BEARER";
  EXPECT_EQ(*NewTokenProvider(b, "s", "", *curl, *clock)->AuthorizationHeader(false), "Bearer static-tok");
  AuthOptions basic{.kind = "basic"};
  basic.username = "user";
  basic.password_file = WriteTemp("pw", "pa:ss\n");
  EXPECT_EQ(*NewTokenProvider(basic, "s", "", *curl, *clock)->AuthorizationHeader(false),
            "Basic " + Base64Encode("user:pa:ss"));
  EXPECT_EQ(*NewTokenProvider({}, "s", "", *curl, *clock)->AuthorizationHeader(false), "");
}

TEST_F(AuthTest, ShortLivedTokensAreRefreshedBeforeExpiryOncePerThreadStorm) {
  std::atomic<int> issued{0};
  LoopbackServer server([&](const LoopbackRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Json(200, {{"access_token", "t" + std::to_string(++issued)}, {"expires_in", 10}});
  });
  setenv("FM_TEST_CC_SECRET3", "x", 1);
  AuthOptions o{.kind = "client_credentials"};
  o.token_url = server.url("/token");
  o.client_id = "id";
  o.client_secret_env = "FM_TEST_CC_SECRET3";
  env::ManualClock manual(base::FromEpochMillis(1'700'000'000'000));
  auto provider = NewTokenProvider(o, "s", "", *curl, manual);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { EXPECT_TRUE(provider->AuthorizationHeader(false).ok()); });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(issued.load(), 1);  // single flight
  manual.Advance(std::chrono::seconds(4));
  EXPECT_EQ(*provider->AuthorizationHeader(false), "Bearer t1");
  manual.Advance(std::chrono::seconds(2));  // 6 s of 10: inside the skew (half the lifetime)
  EXPECT_EQ(*provider->AuthorizationHeader(false), "Bearer t2");
  EXPECT_EQ(provider->refresh_count(), 2);
}

TEST_F(AuthTest, AuthorizingTransportAddsTheHeaderOnlyToItsOriginAndRetriesOnce401) {
  std::atomic<int> issued{0};
  LoopbackServer tokens([&](const LoopbackRequest&) {
    return Json(200, {{"access_token", "tok" + std::to_string(++issued)}, {"expires_in", 3600}});
  });
  LoopbackServer other([&](const LoopbackRequest&) { return LoopbackResponse{.status = 200}; });
  std::atomic<int> fhir_calls{0};
  LoopbackServer fhir([&](const LoopbackRequest& r) {
    ++fhir_calls;
    const std::string* h = r.header("Authorization");
    // The first token is "revoked": only tok2 works.
    if (!h || *h != "Bearer tok2") return LoopbackResponse{.status = 401};
    return LoopbackResponse{.status = 200, .body = "ok"};
  });
  setenv("FM_TEST_CC_SECRET4", "x", 1);
  AuthOptions o{.kind = "client_credentials"};
  o.token_url = tokens.url("/token");
  o.client_id = "id";
  o.client_secret_env = "FM_TEST_CC_SECRET4";
  env::ManualClock manual(base::FromEpochMillis(1'700'000'000'000));
  auto provider = NewTokenProvider(o, "s", fhir.url("/fhir"), *curl, manual);
  auto transport = NewAuthorizingTransport(*curl, *provider, fhir.url("/fhir"));
  // tok1 is fetched, then (5 s later) refused with 401: one refresh, one retry.
  ASSERT_TRUE(provider->AuthorizationHeader(false).ok());
  manual.Advance(std::chrono::seconds(5));
  auto r = transport->Send({.url = fhir.url("/fhir/Patient")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(fhir_calls.load(), 2);
  EXPECT_EQ(issued.load(), 2);
  // Another origin: no Authorization, even one the caller set.
  auto o2 = transport->Send({.url = other.url("/file"), .headers = {{"Authorization", "Bearer leak"}}});
  ASSERT_TRUE(o2.ok());
  EXPECT_EQ(other.requests().back().header("Authorization"), nullptr);
}

TEST_F(AuthTest, ARedirectToAnotherHostStripsAuthorization) {
  LoopbackServer elsewhere([&](const LoopbackRequest&) {
    return LoopbackResponse{.status = 200, .body = "file"};
  });
  LoopbackServer fhir([&](const LoopbackRequest& r) {
    if (r.path() == "/fhir/file") {
      return LoopbackResponse{.status = 302, .headers = {{"Location", elsewhere.url("/blob?sig=abc")}}};
    }
    return LoopbackResponse{.status = 404};
  });
  AuthOptions o{.kind = "bearer"};
  setenv("FM_TEST_BEARER2", "secret-bearer", 1);
  o.token_env = "FM_TEST_BEARER2";
  auto provider = NewTokenProvider(o, "s", fhir.url("/fhir"), *curl, *clock);
  auto transport = NewAuthorizingTransport(*curl, *provider, fhir.url("/fhir"));
  auto r = transport->Send({.url = fhir.url("/fhir/file"), .follow_redirects = true});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(fhir.requests().size(), 1u);
  ASSERT_NE(fhir.requests()[0].header("Authorization"), nullptr);
  ASSERT_EQ(elsewhere.requests().size(), 1u);
  EXPECT_EQ(elsewhere.requests()[0].header("Authorization"), nullptr);
}

TEST(OriginGuardTest, OnlyTheServerAndAllowedStorageOrigins) {
  std::string base = "https://fhir.example.org/r4";
  std::vector<std::string> allowed = {"https://exports.blob.core.windows.net",
                                      "https://*.s3.amazonaws.com"};
  EXPECT_TRUE(AllowedOrigin("https://fhir.example.org/r4/$export-poll/1", base, allowed));
  EXPECT_TRUE(AllowedOrigin("https://FHIR.example.org:443/x", base, allowed));
  EXPECT_FALSE(AllowedOrigin("http://fhir.example.org/x", base, allowed));
  EXPECT_FALSE(AllowedOrigin("https://fhir.example.org:8443/x", base, allowed));
  EXPECT_FALSE(AllowedOrigin("http://169.254.169.254/metadata", base, allowed));
  EXPECT_FALSE(AllowedOrigin("https://fhir.example.org.evil.com/x", base, allowed));
  EXPECT_FALSE(AllowedOrigin("https://evil.com@fhir.example.org.evil.com/", base, allowed));
  EXPECT_TRUE(AllowedOrigin("https://exports.blob.core.windows.net/c/f.ndjson?sig=x", base, allowed));
  EXPECT_TRUE(AllowedOrigin("https://bucket.s3.amazonaws.com/f", base, allowed));
  EXPECT_FALSE(AllowedOrigin("https://s3.amazonaws.com/f", base, allowed));
  EXPECT_FALSE(AllowedOrigin("not a url", base, allowed));
  auto s = CheckAllowedOrigin("bulk status", "https://evil.com/poll?sig=SECRET", base, allowed);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("security.allowed_origins"), std::string::npos);
  EXPECT_EQ(s.error().message.find("SECRET"), std::string::npos);

  class Fixed : public TokenProvider {
   public:
    base::Result<std::string> AuthorizationHeader(bool force_refresh) override {
      return std::string(force_refresh ? "Bearer renewed" : "Bearer z");
    }
  } fixed;
  auto fn = AuthHeaderFor(fixed, base);
  EXPECT_EQ(fn("https://fhir.example.org/r4/files/1", false), "Bearer z");
  EXPECT_EQ(fn("https://fhir.example.org/r4/files/1", true), "Bearer renewed");
  EXPECT_EQ(fn("https://exports.blob.core.windows.net/c/f", false), std::nullopt);
  EXPECT_EQ(fn("https://exports.blob.core.windows.net/c/f", true), std::nullopt);
}

}  // namespace
}  // namespace fm::auth
