#include "auth/authorizing_transport.h"

#include "base/strings.h"

namespace fm::auth {
namespace {

class AuthorizingTransport : public http::Transport {
 public:
  AuthorizingTransport(http::Transport& inner, TokenProvider& provider, std::string origin)
      : inner_(inner), provider_(provider), origin_(std::move(origin)) {}

  base::Result<http::Response> Send(const http::Request& request) override {
    if (origin_.empty() || http::OriginOf(request.url) != origin_) {
      // Another origin never sees this server's credentials.
      if (!http::FindHeader(request.headers, "Authorization")) return inner_.Send(request);
      http::Request copy = request;
      http::RemoveHeader(copy.headers, "Authorization");
      return inner_.Send(copy);
    }
    auto header = provider_.AuthorizationHeader(false);
    if (!header.ok()) return header.error();
    if (header->empty()) return inner_.Send(request);
    http::Request authorized = request;
    http::SetHeader(authorized.headers, "Authorization", *header);
    auto response = inner_.Send(authorized);
    if (!response.ok() || response->status != 401) return response;
    // The token may have been revoked or expired early: refresh once.
    auto fresh = provider_.AuthorizationHeader(true);
    if (!fresh.ok()) return fresh.error();
    http::SetHeader(authorized.headers, "Authorization", *fresh);
    return inner_.Send(authorized);
  }

 private:
  http::Transport& inner_;
  TokenProvider& provider_;
  std::string origin_;
};

bool MatchesOrigin(const std::string& origin, const std::string& allowed) {
  if (origin.empty()) return false;
  auto star = allowed.find("://*.");
  if (star == std::string::npos) return origin == http::OriginOf(allowed);
  // "https://*.blob.core.windows.net[:port]": any subdomain, same scheme and port.
  std::string concrete = allowed.substr(0, star + 3) + "x" + allowed.substr(star + 4);
  std::string pattern = http::OriginOf(concrete);  // "https://x.blob.core.windows.net:443"
  if (pattern.empty()) return false;
  std::string suffix = pattern.substr(star + 4);   // ".blob.core.windows.net:443"
  std::string scheme = pattern.substr(0, star + 3);
  if (!base::StartsWith(origin, scheme) || !base::EndsWith(origin, suffix)) return false;
  std::string label = origin.substr(scheme.size(), origin.size() - scheme.size() - suffix.size());
  return !label.empty() && label.find_first_of("/@:[]") == std::string::npos;
}

}  // namespace

std::unique_ptr<http::Transport> NewAuthorizingTransport(http::Transport& inner,
                                                         TokenProvider& provider,
                                                         const std::string& server_base) {
  return std::make_unique<AuthorizingTransport>(inner, provider, http::OriginOf(server_base));
}

bool AllowedOrigin(const std::string& url, const std::string& server_base,
                   const std::vector<std::string>& allowed_storage_origins) {
  std::string origin = http::OriginOf(url);
  if (origin.empty()) return false;
  if (origin == http::OriginOf(server_base)) return true;
  for (const auto& allowed : allowed_storage_origins) {
    if (MatchesOrigin(origin, allowed)) return true;
  }
  return false;
}

base::Status CheckAllowedOrigin(const std::string& what, const std::string& url,
                                const std::string& server_base,
                                const std::vector<std::string>& allowed_storage_origins) {
  if (AllowedOrigin(url, server_base, allowed_storage_origins)) return base::Ok();
  return base::MakeError(
      base::ErrorKind::kFatal,
      what + ": refusing " + base::RedactUrl(url) + ": its origin is neither the server's (" +
          http::OriginOf(server_base) +
          ") nor listed in security.allowed_origins (server-side request forgery guard)");
}

AuthHeaderFn AuthHeaderFor(TokenProvider& provider, const std::string& server_base) {
  std::string origin = http::OriginOf(server_base);
  return [&provider, origin](const std::string& url,
                             bool force_refresh) -> std::optional<std::string> {
    if (origin.empty() || http::OriginOf(url) != origin) return std::nullopt;
    auto header = provider.AuthorizationHeader(force_refresh);
    if (!header.ok() || header->empty()) return std::nullopt;
    return *header;
  };
}

}  // namespace fm::auth
