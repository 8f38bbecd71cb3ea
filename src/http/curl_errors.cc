#include "http/curl_errors.h"

#include <curl/curl.h>

#include <string>

#include "http/url_parts.h"

namespace fm::http {
namespace {

using base::ErrorKind;
using base::MakeError;

bool IsTlsError(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

bool IsBrokenConnection(CURLcode code) {
  switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

}  // namespace

base::Error FromCurlCode(int curl_code, std::string_view curl_message, std::string_view url,
                         uint64_t bytes) {
  auto code = static_cast<CURLcode>(curl_code);
  auto parts = ParseUrlParts(url);
  std::string host = parts ? parts->host : "(invalid URL)";
  std::string host_port = parts ? host + ":" + std::to_string(parts->port) : host;
  std::string detail(curl_message.empty() ? curl_easy_strerror(code) : curl_message);
  if (code == CURLE_COULDNT_RESOLVE_HOST) {
    return MakeError(ErrorKind::kUnreachable,
                     "cannot resolve host " + host + " (check the URL and DNS)");
  }
  if (code == CURLE_COULDNT_RESOLVE_PROXY) {
    return MakeError(ErrorKind::kUnreachable,
                     "cannot resolve the proxy host: " + detail + " (check the proxy settings)");
  }
  if (code == CURLE_COULDNT_CONNECT) {
    return MakeError(
        ErrorKind::kUnreachable,
        "cannot connect to " + host_port + " (is the server running? check the URL and firewall)");
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(ErrorKind::kUnreachable, "request to " + host + " timed out after " +
                                                  std::to_string(bytes) + " body bytes: " + detail);
  }
  if (IsTlsError(code)) {
    return MakeError(ErrorKind::kUnreachable, "TLS handshake with " + host + " failed: " + detail +
                                                  " (check ca_bundle / the server certificate)");
  }
  if (IsBrokenConnection(code)) {
    return MakeError(ErrorKind::kTransient, "connection to " + host + " broke after " +
                                                std::to_string(bytes) + " bytes: " + detail);
  }
  switch (code) {
    case CURLE_BAD_CONTENT_ENCODING:
      return MakeError(ErrorKind::kInvalidData,
                       "cannot decode the compressed body from " + host + ": " + detail);
    case CURLE_WEIRD_SERVER_REPLY:
      return MakeError(ErrorKind::kInvalidData,
                       host + " sent a malformed HTTP response: " + detail);
    case CURLE_TOO_MANY_REDIRECTS:
      return MakeError(ErrorKind::kFatal, "too many redirects starting at " + host + ": " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return MakeError(ErrorKind::kFatal,
                       "invalid URL for " + host + ": " + detail + " (use http:// or https://)");
    case CURLE_OUT_OF_MEMORY:
      // libcurl's own header limits surface as "out of memory".
      if (detail.find("header") != std::string::npos) {
        return MakeError(ErrorKind::kInvalidData,
                         "response headers from " + host + " are too large: " + detail);
      }
      break;
    default:
      break;
  }
  return MakeError(ErrorKind::kFatal, "request to " + host + " failed: " + detail +
                                          " (curl error " + std::to_string(curl_code) + ")");
}

}  // namespace fm::http
