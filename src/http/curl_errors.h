// Internal to the http module: the one place libcurl result codes become
// base::Error. Kept free of <curl/curl.h> (layering rule for headers).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace fm::http {

// `curl_code` is a CURLcode other than CURLE_OK; `curl_message` the error
// buffer (or curl_easy_strerror); `url` the request URL, of which only the
// host and port are quoted; `bytes` the body bytes received before the failure.
// A server that cannot be reached (DNS, proxy DNS, connection refused,
// timeout, TLS handshake) is kUnreachable; a connection that broke after it
// was made is kTransient.
base::Error FromCurlCode(int curl_code, std::string_view curl_message, std::string_view url,
                         uint64_t bytes);

}  // namespace fm::http
