// Internal to the http module: the pieces of an absolute URL that error
// messages and the redirect policy need. Never the query string.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fm::http {

struct UrlParts {
  std::string scheme;  // lower-case
  std::string host;    // lower-case; IPv6 literals keep their brackets
  int port = 0;        // explicit, or the scheme's default (0 when unknown)
};

// Parses "scheme://[user@]host[:port][/path][?query][#frag]"; nullopt when the
// URL is not absolute or the port is not a number in 1..65535.
std::optional<UrlParts> ParseUrlParts(std::string_view url);

}  // namespace fm::http
