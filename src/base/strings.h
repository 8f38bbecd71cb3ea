// Small string helpers that do not deserve a dependency.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fm::base {

std::vector<std::string_view> Split(std::string_view text, char sep);
std::string_view Trim(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);
bool EndsWith(std::string_view text, std::string_view suffix);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view text);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view text);
std::string UrlDecode(std::string_view text);

// Removes secrets from a URL before it is logged or stored: query parameters
// that carry credentials (SAS `sig`, `token`, `access_token`, `code`, ...) are
// replaced by "REDACTED", and user:password@ is dropped.
std::string RedactUrl(std::string_view url);

// Every absolute URL inside free text (a token containing "://", tokens
// separated by white space) in its RedactUrl form; the rest unchanged. The
// one filter for what is printed or logged: log lines, error lines, the
// command line recorded in a state file's lock.
std::string RedactUrlsIn(std::string_view text);

// Escapes text for a JSON string (without the quotes).
std::string JsonEscape(std::string_view text);

// Levenshtein distance (insertions, deletions, substitutions), ASCII.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` by EditDistance, ignoring case, when it is
// close enough to be a typo of it (at most max(2, |word| / 3) edits); ""
// otherwise. For "did you mean ...?" hints.
std::string Nearest(std::string_view word, const std::vector<std::string>& candidates);

// Shortens text for error messages (never used on resource bodies).
std::string Truncate(std::string_view text, size_t max_chars);

}  // namespace fm::base
