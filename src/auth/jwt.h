// JWT client assertions for SMART Backend Services, signed with OpenSSL.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"

namespace fm::auth {

std::string Base64UrlEncode(std::string_view data);
base::Result<std::string> Base64UrlDecode(std::string_view text);
std::string Base64Encode(std::string_view data);

// A private key loaded from PEM; alg "RS384" (RSA) or "ES384" (EC P-384).
class JwtSigner {
 public:
  static base::Result<std::unique_ptr<JwtSigner>> FromPemFile(const std::string& path,
                                                              const std::string& alg);
  static base::Result<std::unique_ptr<JwtSigner>> FromPem(const std::string& pem,
                                                          const std::string& alg);
  ~JwtSigner();
  // header.payload.signature for the given JSON payload.
  base::Result<std::string> Sign(const std::string& kid, const std::string& payload_json) const;
  const std::string& alg() const { return alg_; }

 private:
  JwtSigner() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string alg_;
};

// The SMART Backend Services claims: iss = sub = client_id, aud = token_url,
// exp = now + lifetime (≤ 5 min), a random jti.
std::string BackendServicesClaims(const std::string& client_id, const std::string& token_url,
                                  base::Instant now, base::Millis lifetime);

// 128 random bits, hex.
std::string RandomId();

}  // namespace fm::auth
