// A Transport decorator that adds the server's Authorization header to
// requests for that server's origin only, and after a 401 refreshes the
// token once and retries. Redirects never carry the header to another origin
// (the curl transport strips it). Also the SSRF guard for URLs a server hands
// back (bulk status and file URLs).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/token_provider.h"
#include "http/transport.h"

namespace fm::auth {

// Thread-safe when `inner` and `provider` are.
std::unique_ptr<http::Transport> NewAuthorizingTransport(http::Transport& inner,
                                                         TokenProvider& provider,
                                                         const std::string& server_base);

// True when `url` is on the origin of `server_base` or on one of
// `allowed_storage_origins` ("https://acct.blob.core.windows.net", or a
// wildcard host "https://*.blob.core.windows.net"). Origins compare scheme,
// host and port (default ports made explicit).
bool AllowedOrigin(const std::string& url, const std::string& server_base,
                   const std::vector<std::string>& allowed_storage_origins);

// The same as a Status with a clear error (kFatal) naming the redacted URL.
base::Status CheckAllowedOrigin(const std::string& what, const std::string& url,
                                const std::string& server_base,
                                const std::vector<std::string>& allowed_storage_origins);

// For code that follows URLs a server hands back (bulk export status and
// file URLs): the Authorization header value for `url`, only when `url` is on
// the server's own origin; nullopt otherwise (or when the server has no auth,
// or the token cannot be obtained). `force_refresh` renews the token (after a
// 401), with the provider's single-flight rule.
using AuthHeaderFn =
    std::function<std::optional<std::string>(const std::string& url, bool force_refresh)>;
AuthHeaderFn AuthHeaderFor(TokenProvider& provider, const std::string& server_base);

}  // namespace fm::auth
