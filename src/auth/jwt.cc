#include "auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace fm::auth {
namespace {

using base::ErrorKind;
using base::MakeError;

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Encode(std::string_view data, bool url) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    if (!url) out += "==";
  } else if (rest == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    if (!url) out += "=";
  }
  if (url) {
    for (char& c : out) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view data) { return Encode(data, true); }
std::string Base64Encode(std::string_view data) { return Encode(data, false); }

base::Result<std::string> Base64UrlDecode(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return MakeError(ErrorKind::kInvalidData, "invalid base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

struct JwtSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

JwtSigner::~JwtSigner() = default;

base::Result<std::unique_ptr<JwtSigner>> JwtSigner::FromPemFile(const std::string& path,
                                                                const std::string& alg) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorKind::kFatal, "cannot read the private key file " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto signer = FromPem(ss.str(), alg);
  if (!signer.ok()) {
    return MakeError(ErrorKind::kFatal, path + ": " + signer.error().message);
  }
  return signer;
}

base::Result<std::unique_ptr<JwtSigner>> JwtSigner::FromPem(const std::string& pem,
                                                            const std::string& alg) {
  if (alg != "RS384" && alg != "ES384") {
    return MakeError(ErrorKind::kFatal, "unsupported JWT alg '" + alg + "' (use RS384 or ES384)");
  }
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return MakeError(ErrorKind::kFatal, "out of memory");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!pkey) return MakeError(ErrorKind::kFatal, "not a PEM private key (or it is encrypted)");
  std::unique_ptr<JwtSigner> signer(new JwtSigner());
  signer->key_ = std::make_unique<Key>();
  signer->key_->pkey = pkey;
  signer->alg_ = alg;
  if (alg == "RS384" && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return MakeError(ErrorKind::kFatal, "RS384 needs an RSA private key");
  }
  if (alg == "ES384") {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
      return MakeError(ErrorKind::kFatal, "ES384 needs an EC P-384 private key");
    }
    char group[64] = {0};
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof(group), &len) ||
        std::string(group) != "secp384r1") {
      return MakeError(ErrorKind::kFatal, "ES384 needs an EC key on curve P-384 (secp384r1)");
    }
  }
  return signer;
}

base::Result<std::string> JwtSigner::Sign(const std::string& kid,
                                          const std::string& payload_json) const {
  // Members in name order, as a JSON library would write them.
  std::string header = R"({"alg":")" + base::JsonEscape(alg_) + "\"";
  if (!kid.empty()) header += R"(,"kid":")" + base::JsonEscape(kid) + "\"";
  header += R"(,"typ":"JWT"})";
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return MakeError(ErrorKind::kFatal, "out of memory");
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return MakeError(ErrorKind::kFatal, "signing the JWT client assertion failed");
  if (alg_ == "ES384") {
    // DER ECDSA-Sig-Value → the JWS form: r || s, 48 bytes each.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (!es) return MakeError(ErrorKind::kFatal, "bad ECDSA signature");
    std::string raw(96, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 48);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return input + "." + Base64UrlEncode(sig);
}

std::string RandomId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // RAND_bytes failing is a broken system; a jti must still be unique.
    static std::atomic<uint64_t> counter{0};
    uint64_t n = ++counter ^ static_cast<uint64_t>(
                                 std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(bytes, &n, sizeof(n));
    std::memcpy(bytes + 8, &n, sizeof(n));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string BackendServicesClaims(const std::string& client_id, const std::string& token_url,
                                  base::Instant now, base::Millis lifetime) {
  if (lifetime > std::chrono::minutes(5)) lifetime = std::chrono::minutes(5);
  int64_t now_s = base::ToEpochMillis(now) / 1000;
  // Members in name order, as a JSON library would write them.
  return R"({"aud":")" + base::JsonEscape(token_url) + R"(","exp":)" +
         std::to_string(now_s + lifetime.count() / 1000) + R"(,"iat":)" +
         std::to_string(now_s) + R"(,"iss":")" + base::JsonEscape(client_id) +
         R"(","jti":")" + base::JsonEscape(RandomId()) + R"(","sub":")" +
         base::JsonEscape(client_id) + R"("})";
}

}  // namespace fm::auth
