// Test helpers: RSA / EC P-384 key pairs generated with OpenSSL, and JWT
// signature verification with the public key.
#pragma once

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "auth/jwt.h"

namespace fm::auth::testing {

struct KeyPair {
  EVP_PKEY* pkey = nullptr;
  std::string private_pem;
  ~KeyPair() { EVP_PKEY_free(pkey); }
};

inline void GenerateKey(KeyPair& k, bool ec) {
  k.pkey = ec ? EVP_EC_gen("P-384") : EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k.pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  k.private_pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
}

// Verifies a compact JWS (RS384 or ES384) with the key pair's public half.
inline bool VerifyJwt(const std::string& jwt, EVP_PKEY* pkey, bool ec) {
  size_t a = jwt.find('.');
  size_t b = jwt.find('.', a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  std::string input = jwt.substr(0, b);
  auto sig = Base64UrlDecode(jwt.substr(b + 1));
  if (!sig.ok()) return false;
  std::string der = *sig;
  if (ec) {
    if (sig->size() != 96) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()), 48, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig->data()) + 48, 48, nullptr);
    ECDSA_SIG_set0(es, r, s);
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es, &out);
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    ECDSA_SIG_free(es);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha384(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace fm::auth::testing
