#include "http/curl_errors.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fm::http {
namespace {

using base::ErrorKind;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kUrl = "https://fhir.example.org:8443/R4/Patient?_token=SECRET";

TEST(FromCurlCodeTest, UnresolvableHostIsUnreachableAndNamesTheHost) {
  base::Error e = FromCurlCode(CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host", kUrl, 0);
  EXPECT_EQ(e.kind, ErrorKind::kUnreachable);
  EXPECT_EQ(e.message, "cannot resolve host fhir.example.org (check the URL and DNS)");
}

TEST(FromCurlCodeTest, RefusedConnectionIsUnreachableWithHostAndPort) {
  base::Error e = FromCurlCode(CURLE_COULDNT_CONNECT, "", kUrl, 0);
  EXPECT_EQ(e.kind, ErrorKind::kUnreachable);
  EXPECT_EQ(e.message,
            "cannot connect to fhir.example.org:8443 (is the server running? check the URL and "
            "firewall)");
}

TEST(FromCurlCodeTest, CertificateProblemsAreUnreachableWithAHint) {
  for (CURLcode code :
       {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE}) {
    base::Error e = FromCurlCode(code, "self-signed certificate", kUrl, 0);
    EXPECT_EQ(e.kind, ErrorKind::kUnreachable);
    EXPECT_EQ(e.message,
              "TLS handshake with fhir.example.org failed: self-signed certificate (check "
              "ca_bundle / the server certificate)");
  }
}

TEST(FromCurlCodeTest, TimeoutIsUnreachable) {
  base::Error e = FromCurlCode(CURLE_OPERATION_TIMEDOUT, "Operation timed out", kUrl, 12);
  EXPECT_EQ(e.kind, ErrorKind::kUnreachable);
  EXPECT_THAT(e.message, HasSubstr("timed out"));
}

TEST(FromCurlCodeTest, BrokenConnectionSaysHowFarItGot) {
  for (CURLcode code :
       {CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING}) {
    base::Error e = FromCurlCode(code, "", kUrl, 4096);
    EXPECT_EQ(e.kind, ErrorKind::kTransient);
    EXPECT_THAT(e.message, HasSubstr("connection to fhir.example.org broke after 4096 bytes"));
  }
}

TEST(FromCurlCodeTest, NeverQuotesTheQueryString) {
  for (int code = 1; code < CURL_LAST; ++code) {
    base::Error e = FromCurlCode(code, "", kUrl, 0);
    EXPECT_THAT(e.message, Not(HasSubstr("SECRET"))) << code;
    EXPECT_THAT(e.message, Not(HasSubstr("_token"))) << code;
  }
}

}  // namespace
}  // namespace fm::http
