#include "auth/token_provider.h"

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "auth/jwt.h"
#include "base/strings.h"
#include "json/fields.h"

namespace fm::auth {
namespace {

using base::ErrorKind;
using base::MakeError;

class NoneProvider : public TokenProvider {
 public:
  base::Result<std::string> AuthorizationHeader(bool) override { return std::string(); }
};

class StaticProvider : public TokenProvider {
 public:
  explicit StaticProvider(std::string header) : header_(std::move(header)) {}
  base::Result<std::string> AuthorizationHeader(bool) override { return header_; }

 private:
  std::string header_;
};

class FailingProvider : public TokenProvider {
 public:
  explicit FailingProvider(base::Error error) : error_(std::move(error)) {}
  base::Result<std::string> AuthorizationHeader(bool) override { return error_; }

 private:
  base::Error error_;
};

struct Token {
  std::string access_token;
  base::Millis lifetime{0};
};

// Caches a token; one refresh at a time (threads wait for it and share it).
class CachingProvider : public TokenProvider {
 public:
  CachingProvider(std::string what, http::Transport& transport, env::Clock& clock,
                  base::Millis skew)
      : what_(std::move(what)), transport_(transport), clock_(clock), skew_(skew) {}

  base::Result<std::string> AuthorizationHeader(bool force_refresh) override {
    std::lock_guard lock(mu_);
    base::Instant now = clock_.Now();
    bool have = !token_.empty();
    // Another thread refreshed a moment ago: that token is the fresh one.
    bool just_refreshed = have && now - fetched_at_ < std::chrono::seconds(2);
    if (have && now < refresh_at_ && (!force_refresh || just_refreshed)) {
      return "Bearer " + token_;
    }
    auto token = Fetch();
    if (!token.ok()) {
      base::Error e = token.error();
      e.message = what_ + ": " + e.message;
      return e;
    }
    if (token->access_token.empty()) {
      return MakeError(ErrorKind::kUnauthorized, what_ + ": the token endpoint sent no access_token");
    }
    token_ = token->access_token;
    fetched_at_ = clock_.Now();
    base::Millis lifetime = token->lifetime;
    base::Millis skew = std::min(skew_, lifetime / 2);
    refresh_at_ = fetched_at_ + lifetime - skew;
    ++refreshes_;
    return "Bearer " + token_;
  }
  int refresh_count() const override {
    std::lock_guard lock(mu_);
    return refreshes_;
  }

 protected:
  virtual base::Result<Token> Fetch() = 0;

  // POSTs a form (or GETs when `form` is empty and `get` is set) and parses
  // an OAuth2 token response. Errors carry the status and the OAuth error
  // code/description, never the body or the request.
  base::Result<Token> Exchange(http::Request request) {
    request.timeout = std::chrono::seconds(60);
    http::SetHeader(request.headers, "Accept", "application/json");
    auto response = transport_.Send(request);
    std::string where = request.method + " " + base::RedactUrl(request.url);
    if (!response.ok()) {
      base::Error e = response.error();
      e.message = "token request " + where + ": " + e.message;
      return e;
    }
    auto body = json::ReadScalarMembers(response->body);
    if (response->status < 200 || response->status > 299) {
      std::string detail;
      std::string error = body.ok() ? json::StringMember(*body, "error") : "";
      if (!error.empty()) {
        detail = " (" + base::Truncate(error, 100);
        std::string description = json::StringMember(*body, "error_description");
        if (!description.empty()) detail += ": " + base::Truncate(description, 200);
        detail += ")";
      }
      ErrorKind kind = response->status >= 500 || response->status == 429
                           ? ErrorKind::kTransient
                           : ErrorKind::kUnauthorized;
      return MakeError(kind,
                       "token request " + where + " answered " +
                           std::to_string(response->status) + detail,
                       response->status);
    }
    if (!body.ok() || !body->count("access_token") ||
        body->at("access_token").kind != json::Scalar::Kind::kString) {
      return MakeError(ErrorKind::kUnauthorized,
                       "token response from " + where + " holds no access_token");
    }
    Token token;
    token.access_token = body->at("access_token").text;
    int64_t seconds = 3600;
    if (auto e = body->find("expires_in"); e != body->end()) {
      // A number, or a string of digits (Azure IMDS sends "3599").
      if (e->second.kind == json::Scalar::Kind::kNumber ||
          e->second.kind == json::Scalar::Kind::kString) {
        seconds = std::strtoll(e->second.text.c_str(), nullptr, 10);
      }
    }
    if (seconds <= 0) seconds = 1;
    token.lifetime = std::chrono::seconds(seconds);
    return token;
  }

  std::string what_;
  http::Transport& transport_;
  env::Clock& clock_;

 private:
  base::Millis skew_;
  mutable std::mutex mu_;
  std::string token_;
  base::Instant fetched_at_{};
  base::Instant refresh_at_{};
  int refreshes_ = 0;
};

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (v.empty()) continue;
    if (!out.empty()) out += '&';
    out += base::UrlEncode(k) + "=" + base::UrlEncode(v);
  }
  return out;
}

http::Request FormPost(const std::string& url, std::string body) {
  http::Request r;
  r.method = "POST";
  r.url = url;
  r.body = std::move(body);
  http::SetHeader(r.headers, "Content-Type", "application/x-www-form-urlencoded");
  return r;
}

class ClientCredentialsProvider : public CachingProvider {
 public:
  ClientCredentialsProvider(const AuthOptions& o, std::string secret, std::string what,
                            http::Transport& t, env::Clock& c)
      : CachingProvider(std::move(what), t, c, o.refresh_skew), o_(o), secret_(std::move(secret)) {}

 protected:
  base::Result<Token> Fetch() override {
    bool basic = o_.client_auth == "client_secret_basic";
    std::vector<std::pair<std::string, std::string>> fields = {
        {"grant_type", "client_credentials"}, {"scope", o_.scope}, {"resource", o_.resource}};
    if (!basic) {
      fields.emplace_back("client_id", o_.client_id);
      fields.emplace_back("client_secret", secret_);
    }
    http::Request r = FormPost(o_.token_url, Form(fields));
    if (basic) {
      http::SetHeader(r.headers, "Authorization",
                      "Basic " + Base64Encode(base::UrlEncode(o_.client_id) + ":" +
                                              base::UrlEncode(secret_)));
    }
    return Exchange(std::move(r));
  }

 private:
  AuthOptions o_;
  std::string secret_;
};

class SmartProvider : public CachingProvider {
 public:
  SmartProvider(const AuthOptions& o, std::unique_ptr<JwtSigner> signer, std::string base,
                std::string what, http::Transport& t, env::Clock& c)
      : CachingProvider(std::move(what), t, c, o.refresh_skew),
        o_(o),
        signer_(std::move(signer)),
        base_(std::move(base)) {}

 protected:
  base::Result<Token> Fetch() override {
    if (o_.token_url.empty()) FM_TRY_STATUS(Discover());
    std::string claims =
        BackendServicesClaims(o_.client_id, o_.token_url, clock_.Now(), std::chrono::minutes(4));
    FM_ASSIGN_OR_RETURN(std::string assertion, signer_->Sign(o_.kid, claims));
    return Exchange(FormPost(
        o_.token_url,
        Form({{"grant_type", "client_credentials"},
              {"scope", o_.scope},
              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
              {"client_assertion", assertion}})));
  }

 private:
  base::Status Discover() {
    http::Request r;
    r.url = base_ + "/.well-known/smart-configuration";
    r.timeout = std::chrono::seconds(60);
    http::SetHeader(r.headers, "Accept", "application/json");
    auto response = transport_.Send(r);
    std::string where = "GET " + base::RedactUrl(r.url);
    if (!response.ok()) {
      base::Error e = response.error();
      e.message = "SMART discovery " + where + ": " + e.message;
      return e;
    }
    if (response->status != 200) {
      return MakeError(ErrorKind::kFatal, "SMART discovery " + where + " answered " +
                                              std::to_string(response->status) +
                                              " (set token_url to skip discovery)",
                       response->status);
    }
    auto body = json::ReadScalarMembers(response->body);
    std::string url = body.ok() ? json::StringMember(*body, "token_endpoint") : "";
    if (url.empty()) {
      return MakeError(ErrorKind::kFatal, "SMART discovery " + where + ": no token_endpoint");
    }
    if (!base::StartsWith(url, "https://") && !base::StartsWith(url, "http://")) {
      return MakeError(ErrorKind::kFatal, "SMART discovery " + where +
                                              ": token_endpoint is not an http(s) URL");
    }
    o_.token_url = url;
    return base::Ok();
  }

  AuthOptions o_;
  std::unique_ptr<JwtSigner> signer_;
  std::string base_;
};

class ManagedIdentityProvider : public CachingProvider {
 public:
  ManagedIdentityProvider(const AuthOptions& o, std::string what, http::Transport& t,
                          env::Clock& c)
      : CachingProvider(std::move(what), t, c, o.refresh_skew), o_(o) {}

 protected:
  base::Result<Token> Fetch() override {
    http::Request r;
    r.url = o_.imds_url + (o_.imds_url.find('?') == std::string::npos ? "?" : "&") +
            Form({{"api-version", "2018-02-01"},
                  {"resource", o_.resource},
                  {"client_id", o_.identity_client_id}});
    http::SetHeader(r.headers, "Metadata", "true");
    return Exchange(std::move(r));
  }

 private:
  AuthOptions o_;
};

bool IsUrl(const std::string& v) {
  return base::StartsWith(v, "https://") || base::StartsWith(v, "http://");
}

}  // namespace

base::Result<std::string> ReadSecret(const std::string& env, const std::string& file,
                                     const std::string& what) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v) {
      return MakeError(ErrorKind::kConfig,
                       what + ": environment variable " + env + " is not set or empty");
    }
    return std::string(v);
  }
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return MakeError(ErrorKind::kConfig, what + ": cannot read secret file " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) {
      return MakeError(ErrorKind::kConfig, what + ": secret file " + file + " is empty");
    }
    return s;
  }
  return MakeError(ErrorKind::kConfig, what + ": no secret configured (set *_env or *_file)");
}

base::Status ValidateAuthOptions(const AuthOptions& o, const std::string& what) {
  auto need = [&](const std::string& value, const std::string& key) -> base::Status {
    if (value.empty()) {
      return MakeError(ErrorKind::kConfig, what + "." + key + " is required for kind " + o.kind);
    }
    return base::Ok();
  };
  auto need_secret = [&](const std::string& env, const std::string& file,
                         const std::string& stem) -> base::Status {
    if (env.empty() && file.empty()) {
      return MakeError(ErrorKind::kConfig, what + "." + stem + "_env or " + what + "." + stem +
                                               "_file is required for kind " + o.kind);
    }
    return base::Ok();
  };
  if (o.kind == "none") return base::Ok();
  if (o.kind == "bearer") return need_secret(o.token_env, o.token_file, "token");
  if (o.kind == "basic") {
    FM_TRY_STATUS(need(o.username, "username"));
    return need_secret(o.password_env, o.password_file, "password");
  }
  if (o.kind == "client_credentials") {
    FM_TRY_STATUS(need(o.token_url, "token_url"));
    FM_TRY_STATUS(need(o.client_id, "client_id"));
    if (o.client_auth != "client_secret_post" && o.client_auth != "client_secret_basic") {
      return MakeError(ErrorKind::kConfig,
                       what + ".client_auth: use client_secret_post or client_secret_basic");
    }
    return need_secret(o.client_secret_env, o.client_secret_file, "client_secret");
  }
  if (o.kind == "smart") {
    FM_TRY_STATUS(need(o.client_id, "client_id"));
    FM_TRY_STATUS(need(o.private_key_file, "private_key_file"));
    FM_TRY_STATUS(need(o.scope, "scope"));
    if (o.alg != "RS384" && o.alg != "ES384") {
      return MakeError(ErrorKind::kConfig, what + ".alg: use RS384 or ES384");
    }
    return base::Ok();
  }
  if (o.kind == "managed_identity") {
    FM_TRY_STATUS(need(o.resource, "resource"));
    if (!IsUrl(o.imds_url)) {
      return MakeError(ErrorKind::kConfig, what + ".imds_url is not an http(s) URL");
    }
    return base::Ok();
  }
  return MakeError(
      ErrorKind::kConfig,
      what + ".kind: '" + o.kind +
          "' (use none, bearer, basic, client_credentials, smart or managed_identity)");
}

base::Status CheckCredentials(const AuthOptions& o, const std::string& what) {
  FM_TRY_STATUS(ValidateAuthOptions(o, what));
  base::Result<std::string> secret = std::string();
  if (o.kind == "bearer") secret = ReadSecret(o.token_env, o.token_file, what + ".token");
  if (o.kind == "basic") secret = ReadSecret(o.password_env, o.password_file, what + ".password");
  if (o.kind == "client_credentials") {
    secret = ReadSecret(o.client_secret_env, o.client_secret_file, what + ".client_secret");
  }
  if (!secret.ok()) return secret.error();
  if (o.kind == "smart") {
    auto signer = JwtSigner::FromPemFile(o.private_key_file, o.alg);
    if (!signer.ok()) {
      return MakeError(ErrorKind::kConfig, what + ".private_key_file: " + signer.error().message);
    }
  }
  return base::Ok();
}

std::unique_ptr<TokenProvider> NewTokenProvider(const AuthOptions& o, const std::string& what,
                                                const std::string& server_base,
                                                http::Transport& token_transport,
                                                env::Clock& clock) {
  if (auto s = ValidateAuthOptions(o, what); !s.ok()) {
    return std::make_unique<FailingProvider>(MakeError(ErrorKind::kConfig, s.error().message));
  }
  auto fail = [](base::Error e) -> std::unique_ptr<TokenProvider> {
    e.kind = ErrorKind::kConfig;
    return std::make_unique<FailingProvider>(std::move(e));
  };
  if (o.kind == "bearer") {
    auto token = ReadSecret(o.token_env, o.token_file, what + ".token");
    if (!token.ok()) return fail(token.error());
    return std::make_unique<StaticProvider>("Bearer " + *token);
  }
  if (o.kind == "basic") {
    auto password = ReadSecret(o.password_env, o.password_file, what + ".password");
    if (!password.ok()) return fail(password.error());
    return std::make_unique<StaticProvider>("Basic " + Base64Encode(o.username + ":" + *password));
  }
  if (o.kind == "client_credentials") {
    auto secret = ReadSecret(o.client_secret_env, o.client_secret_file, what + ".client_secret");
    if (!secret.ok()) return fail(secret.error());
    return std::make_unique<ClientCredentialsProvider>(o, *secret, what, token_transport, clock);
  }
  if (o.kind == "smart") {
    auto signer = JwtSigner::FromPemFile(o.private_key_file, o.alg);
    if (!signer.ok()) {
      base::Error e = signer.error();
      e.message = what + ".private_key_file: " + e.message;
      return fail(e);
    }
    std::string base = server_base;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return std::make_unique<SmartProvider>(o, std::move(*signer), base, what, token_transport,
                                           clock);
  }
  if (o.kind == "managed_identity") {
    return std::make_unique<ManagedIdentityProvider>(o, what, token_transport, clock);
  }
  return std::make_unique<NoneProvider>();
}

}  // namespace fm::auth
