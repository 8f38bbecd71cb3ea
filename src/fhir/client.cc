#include "fhir/client.h"

#include <cctype>
#include <utility>

#include "base/strings.h"

namespace fm::fhir {
namespace {

constexpr std::string_view kFhirJson = "application/fhir+json";
constexpr size_t kMaxWhatChars = 200;

// Path characters kept as written: unreserved, "/" between segments, "$" of
// operations and the ":" "@" that RFC 3986 allows in a segment. Everything
// else is percent-encoded so an id can never smuggle in a query or fragment.
bool KeepInPath(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == '$' ||
         c == ':' || c == '@';
}

std::string EncodePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (KeepInPath(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      out += base::UrlEncode(std::string_view(&c, 1));
    }
  }
  return out;
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }
bool IsGone(int status) { return status == 404 || status == 410; }

// "GET Patient?_count=100" for messages: base stripped, secrets redacted.
std::string Describe(std::string_view method, std::string_view base_url, std::string_view url) {
  std::string redacted = base::RedactUrl(url);
  std::string_view shown = redacted;
  if (base::StartsWith(shown, base_url)) {
    shown.remove_prefix(base_url.size());
    if (!shown.empty() && shown.front() == '/') shown.remove_prefix(1);
  }
  return std::string(method) + " " + std::string(shown.empty() ? "[base]" : shown);
}

// Query names keep ":" so modifiers read as written ("code:text"); values are
// fully encoded.
std::string EncodeQueryName(std::string_view name) {
  std::vector<std::string_view> parts = base::Split(name, ':');
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ':';
    out += base::UrlEncode(parts[i]);
  }
  return out;
}

std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

Client::Client(std::string name, std::string base_url, http::Transport& transport,
               env::Clock& clock)
    : name_(std::move(name)),
      base_url_(StripTrailingSlashes(std::move(base_url))),
      transport_(transport),
      clock_(clock) {}

std::string Client::Url(std::string_view path, const Params& params) const {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string url = base_url_;
  if (!path.empty()) {
    url += '/';
    url += EncodePath(path);
  }
  char sep = '?';
  for (const auto& [key, value] : params) {
    url += sep;
    sep = '&';
    url += EncodeQueryName(key);
    url += '=';
    url += base::UrlEncode(value);
  }
  return url;
}

base::Result<Capabilities> Client::GetCapabilities() {
  http::Request request;
  request.url = Url("metadata");
  FM_ASSIGN_OR_RETURN(http::Response response, Check("GET metadata", SendRaw(std::move(request))));
  auto caps = ParseCapabilities(response.body);
  if (!caps.ok()) {
    caps.error().message = name_ + " /metadata is " + caps.error().message;
  }
  return caps;
}

base::Result<Capabilities> Client::ProbeCapabilities() {
  auto caps = GetCapabilities();
  if (caps.ok()) return caps;
  base::Error& e = caps.error();
  if (e.kind == base::ErrorKind::kUnauthorized || e.kind == base::ErrorKind::kCancelled) {
    return caps;
  }
  if (e.kind != base::ErrorKind::kUnreachable) {
    e.message = "no FHIR server answers at " + base::RedactUrl(base_url_) + " (" + e.message + ")";
    e.kind = base::ErrorKind::kUnreachable;
  }
  return caps;
}

base::Result<int64_t> Client::Count(std::string_view type, const Params& params) {
  Params with_summary = params;
  with_summary.emplace_back("_summary", "count");
  http::Request request;
  request.url = Url(type, with_summary);
  std::string what = Describe("GET", base_url_, request.url);
  FM_ASSIGN_OR_RETURN(http::Response response, Check(what, SendRaw(std::move(request))));
  auto page = ParseSearchPage(std::move(response.body), base_url_, /*keep_resources=*/false);
  if (!page.ok()) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           name_ + " answered a count that is " + page.error().message);
  }
  if (!page->total) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           name_ + " answered a count without Bundle.total (" + what + ")");
  }
  return *page->total;
}

base::Result<SearchPage> Client::SearchFirst(std::string_view type, const Params& params) {
  return SearchUrl(Url(type, params));
}

base::Status Client::CheckLinkOrigin(const std::string& absolute_url) const {
  std::string url = ResolveLink(base_url_, absolute_url);
  std::string origin = http::OriginOf(url), own = http::OriginOf(base_url_);
  if (!origin.empty() && origin == own) return base::Ok();
  return base::MakeError(base::ErrorKind::kFatal,
                         name_ + " handed out a paging link on " +
                             (origin.empty() ? std::string("an unreadable origin") : origin) +
                             ", not on its own origin " + own +
                             "; refused (is the server's public base URL set, e.g. behind a "
                             "proxy?)");
}

base::Result<SearchPage> Client::SearchUrl(const std::string& absolute_url) {
  FM_TRY_STATUS(CheckLinkOrigin(absolute_url));
  http::Request request;
  request.url = ResolveLink(base_url_, absolute_url);
  std::string what = Describe("GET", base_url_, request.url);
  FM_ASSIGN_OR_RETURN(http::Response response, Check(what, SendRaw(std::move(request))));
  auto page = ParseSearchPage(std::move(response.body), base_url_);
  if (!page.ok()) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           name_ + " answered a page that is " + page.error().message);
  }
  return page;
}

base::Result<std::optional<std::string>> Client::Read(std::string_view type, std::string_view id) {
  http::Request request;
  request.url = Url(std::string(type) + "/" + std::string(id));
  auto sent = SendRaw(std::move(request));
  if (sent.ok() && IsGone(sent->status)) return std::optional<std::string>();
  FM_ASSIGN_OR_RETURN(http::Response response,
                      Check("GET " + std::string(type) + "/" + std::string(id), std::move(sent)));
  return std::optional<std::string>(std::move(response.body));
}

base::Result<std::string> Client::PostBundle(std::string bundle_json) {
  http::Request request;
  request.method = "POST";
  request.url = base_url_;
  request.body = std::move(bundle_json);
  FM_ASSIGN_OR_RETURN(http::Response response, Check("POST bundle", SendRaw(std::move(request))));
  return std::move(response.body);
}

base::Status Client::Delete(std::string_view type, std::string_view id) {
  http::Request request;
  request.method = "DELETE";
  request.url = Url(std::string(type) + "/" + std::string(id));
  auto sent = SendRaw(std::move(request));
  if (sent.ok() && IsGone(sent->status)) return base::Ok();
  FM_TRY_STATUS(Check("DELETE " + std::string(type) + "/" + std::string(id), std::move(sent)));
  return base::Ok();
}

base::Result<http::Response> Client::SendRaw(http::Request request) {
  if (!http::FindHeader(request.headers, "Accept")) {
    http::SetHeader(request.headers, "Accept", std::string(kFhirJson));
  }
  if (!request.body.empty() && !http::FindHeader(request.headers, "Content-Type")) {
    http::SetHeader(request.headers, "Content-Type", std::string(kFhirJson));
  }
  return transport_.Send(request);
}

base::Result<http::Response> Client::Check(std::string_view what, base::Result<http::Response> r) {
  std::string label = name_ + " " + base::Truncate(what, kMaxWhatChars);
  if (!r.ok()) {
    base::Error error = std::move(r.error());
    error.message = label + ": " + error.message;
    return error;
  }
  if (IsSuccess(r->status)) return r;
  return http::ErrorFromResponse(label, *r, clock_.Now());
}

std::string ResolveLink(std::string_view base_url, std::string_view link) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  if (link.find("://") != std::string_view::npos && link.find("://") < link.find_first_of("/?#")) {
    return std::string(link);
  }
  if (base::StartsWith(link, "//")) {  // scheme-relative
    size_t colon = base_url.find("://");
    return std::string(base_url.substr(0, colon == std::string_view::npos ? 0 : colon + 1)) +
           std::string(link);
  }
  if (base::StartsWith(link, "/")) {
    size_t authority = base_url.find("://");
    authority = authority == std::string_view::npos ? 0 : authority + 3;
    size_t path = base_url.find_first_of("/?#", authority);
    return std::string(base_url.substr(0, path)) + std::string(link);
  }
  if (base::StartsWith(link, "?")) return std::string(base_url) + std::string(link);
  return std::string(base_url) + "/" + std::string(link);
}

}  // namespace fm::fhir
