// Credentials per server: a TokenProvider yields the value of the
// Authorization header for one FHIR server (none, static bearer, basic,
// OAuth2 client_credentials, SMART Backend Services, Azure managed identity).
// Tokens are cached, refreshed before they expire and on demand after a 401,
// and shared by every thread (one refresh at a time). Secrets come only from
// environment variables or files; they never appear in errors or logs.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "base/time.h"
#include "env/clock.h"
#include "http/transport.h"

namespace fm::auth {

struct AuthOptions {
  // none | bearer | basic | client_credentials | smart | managed_identity
  std::string kind = "none";
  // Token endpoint (client_credentials: required; smart: discovered from
  // [base]/.well-known/smart-configuration when empty).
  std::string token_url;
  std::string client_id;
  std::string scope;     // e.g. "system/*.read" or "https://host/.default"
  std::string resource;  // client_credentials (Entra v1) and managed_identity
  // client_credentials: client_secret_post | client_secret_basic
  std::string client_auth = "client_secret_post";
  std::string client_secret_env;
  std::string client_secret_file;
  std::string token_env;  // bearer
  std::string token_file;
  std::string username;  // basic
  std::string password_env;
  std::string password_file;
  std::string private_key_file;  // smart: PEM (RSA for RS384, P-384 for ES384)
  std::string kid;               // smart: key id in the registered JWKS
  std::string alg = "RS384";     // smart: RS384 | ES384
  // managed_identity: the instance metadata token endpoint.
  std::string imds_url = "http://169.254.169.254/metadata/identity/oauth2/token";
  std::string identity_client_id;  // managed_identity: a user-assigned identity
  // A token is renewed this long before it expires (at most half its lifetime).
  base::Millis refresh_skew{std::chrono::seconds(60)};
};

// Validates the shape of the options (kind known, required keys present);
// does not read secrets. `what` names the server ("source.auth"). kConfig.
base::Status ValidateAuthOptions(const AuthOptions& options, const std::string& what);

// ValidateAuthOptions, then reads what the provider will need (the secret's
// environment variable or file, the SMART private key) without sending
// anything: commands call it at start-up, so an unset variable is a
// configuration error (kConfig, naming the variable) before the first
// request rather than a failure found in the middle of a run.
base::Status CheckCredentials(const AuthOptions& options, const std::string& what);

class TokenProvider {
 public:
  virtual ~TokenProvider() = default;
  // "Bearer <token>" / "Basic <...>", or "" when the server needs none.
  // `force_refresh` asks for a new token (after a 401); a token renewed by
  // another thread in the last seconds is returned instead of a second refresh.
  // Thread-safe.
  virtual base::Result<std::string> AuthorizationHeader(bool force_refresh) = 0;
  // How many tokens were fetched from a token endpoint (for tests and logs).
  virtual int refresh_count() const { return 0; }
};

// The provider for one server. `server_base` is the FHIR base URL (SMART
// discovery); `token_transport` carries token requests (never the
// authorizing transport). A provider whose secret cannot be read is still
// returned: it answers every call with that error (kConfig).
std::unique_ptr<TokenProvider> NewTokenProvider(const AuthOptions& options,
                                                const std::string& what,
                                                const std::string& server_base,
                                                http::Transport& token_transport,
                                                env::Clock& clock);

// Reads a secret from the environment variable `env` or the file `file`
// (trailing newline dropped). Errors name the variable or file, never a value.
base::Result<std::string> ReadSecret(const std::string& env, const std::string& file,
                                     const std::string& what);

}  // namespace fm::auth
