#include "http/transport.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

#include "base/strings.h"
#include "http/response_text.h"
#include "http/url_parts.h"

namespace fm::http {
namespace {

using base::ErrorKind;

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

int DefaultPort(std::string_view scheme) {
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  return 0;
}

ErrorKind KindForStatus(int status) {
  if (status == 429) return ErrorKind::kRateLimited;
  if (status == 408 || (status >= 500 && status <= 599)) return ErrorKind::kTransient;
  if (status == 401 || status == 403) return ErrorKind::kUnauthorized;
  if (status == 404 || status == 410) return ErrorKind::kNotFound;
  if (status == 409 || status == 412 || status == 423) return ErrorKind::kConflict;
  // A redirect we were not asked to follow means the configured URL is wrong.
  if (status >= 300 && status <= 399) return ErrorKind::kFatal;
  return ErrorKind::kInvalidData;
}

}  // namespace

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const Header& header : headers) {
    if (base::EqualsIgnoreCase(header.name, name)) return &header.value;
  }
  return nullptr;
}

void SetHeader(Headers& headers, std::string name, std::string value) {
  auto first = std::find_if(headers.begin(), headers.end(),
                            [&](const Header& h) { return base::EqualsIgnoreCase(h.name, name); });
  if (first == headers.end()) {
    headers.push_back({std::move(name), std::move(value)});
    return;
  }
  first->value = std::move(value);
  std::string_view kept = first->name;
  headers.erase(
      std::remove_if(std::next(first), headers.end(),
                     [&](const Header& h) { return base::EqualsIgnoreCase(h.name, kept); }),
      headers.end());
}

void RemoveHeader(Headers& headers, std::string_view name) {
  std::erase_if(headers, [&](const Header& h) { return base::EqualsIgnoreCase(h.name, name); });
}

std::optional<UrlParts> ParseUrlParts(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::string_view scheme = url.substr(0, sep);
  if (!std::all_of(scheme.begin(), scheme.end(), IsSchemeChar)) return std::nullopt;
  size_t start = sep + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  std::string_view authority = url.substr(start, end - start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      has_port = true;
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return std::nullopt;
  UrlParts parts;
  parts.scheme = base::ToLower(scheme);
  parts.host = base::ToLower(host);
  parts.port = DefaultPort(parts.scheme);
  if (has_port && !port_text.empty()) {  // "host:" means the default port
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return std::nullopt;
    }
    parts.port = port;
  }
  return parts;
}

std::string OriginOf(std::string_view url) {
  auto parts = ParseUrlParts(url);
  if (!parts) return "";
  std::string origin = parts->scheme + "://" + parts->host;
  if (parts->port != 0) origin += ":" + std::to_string(parts->port);
  return origin;
}

std::optional<base::Millis> ParseRetryAfter(std::string_view value, base::Instant now) {
  std::string_view text = base::Trim(value);
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
    int64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc::result_out_of_range || seconds > kMaxSeconds)
      seconds = kMaxSeconds;
    else if (ec != std::errc())
      return std::nullopt;
    return base::Millis(seconds * 1000);
  }
  auto date = base::ParseHttpDate(text);
  if (!date) return std::nullopt;
  if (*date <= now) return base::Millis(0);
  return *date - now;
}

base::Error ErrorFromResponse(std::string_view what, const Response& response, base::Instant now) {
  int status = response.status;
  std::string message = base::RedactUrlsIn(what) + " answered " + std::to_string(status);
  if (status >= 300 && status <= 399) {
    const std::string* location = FindHeader(response.headers, "Location");
    message += " (a redirect";
    if (location) message += " to " + base::RedactUrl(*location);
    message += "; check the configured base URL)";
  }
  std::string detail = DescribeErrorBody(response.body);
  if (!detail.empty()) message += ": " + detail;
  base::Error error = base::MakeError(KindForStatus(status), std::move(message), status);
  if (const std::string* retry_after = FindHeader(response.headers, "Retry-After")) {
    error.retry_after = ParseRetryAfter(*retry_after, now);
  }
  return error;
}

}  // namespace fm::http
