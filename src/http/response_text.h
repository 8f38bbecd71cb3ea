// Internal to the http module: what an error message may say about a body.
#pragma once

#include <string>
#include <string_view>

namespace fm::http {

// At most this many characters of body-derived text go into an error message.
inline constexpr size_t kMaxBodyDetail = 300;

// For a JSON body: the OperationOutcome diagnostics (or details.text), joined
// with "; ", or "" when there are none; other JSON is never quoted, since it
// may be patient data. For a non-JSON body (a proxy's HTML or plain-text page):
// a whitespace-collapsed, tag-stripped excerpt. Never longer than kMaxBodyDetail.
std::string DescribeErrorBody(std::string_view body);

}  // namespace fm::http
