#include "fhir/bulk_export.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "fhir/bundle.h"
#include "fhir/client.h"
#include "json/resource.h"

namespace fm::fhir {
namespace {

using Json = nlohmann::json;

base::Error Invalid(const std::string& what) {
  return base::MakeError(base::ErrorKind::kInvalidData, "export manifest: " + what);
}

std::string Redacted(std::string_view url) { return base::RedactUrl(url); }

bool IsGone(int status) { return status == 404 || status == 410; }

constexpr int kMaxRedirects = 5;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A Location made absolute against the URL that answered with it.
std::string ResolveLocation(const std::string& current, const std::string& location) {
  if (location.find("://") != std::string::npos &&
      location.find("://") < location.find_first_of("/?#")) {
    return location;
  }
  if (base::StartsWith(location, "/")) return ResolveLink(current, location);  // origin-relative
  std::string dir = current.substr(0, current.find_first_of("?#"));
  if (base::StartsWith(location, "?")) return dir + location;
  return dir.substr(0, dir.rfind('/') + 1) + location;
}

std::string Join(const std::vector<std::string>& v) { return base::Join(v, ","); }

base::Result<std::vector<ManifestFile>> ParseFiles(const Json& root, const char* field,
                                                   bool required) {
  std::vector<ManifestFile> out;
  auto it = root.find(field);
  if (it == root.end() || it->is_null()) {
    if (required) return Invalid(std::string("'") + field + "' is missing");
    return out;
  }
  if (!it->is_array()) return Invalid(std::string("'") + field + "' is not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return Invalid(where + " is not an object");
    ManifestFile f;
    auto url = item.find("url");
    if (url == item.end() || !url->is_string() || url->get_ref<const std::string&>().empty()) {
      return Invalid(where + ".url is missing or not a string");
    }
    f.url = url->get<std::string>();
    if (!base::StartsWith(f.url, "http://") && !base::StartsWith(f.url, "https://")) {
      return Invalid(where + ".url is not an absolute http(s) URL");
    }
    if (auto type = item.find("type"); type != item.end() && !type->is_null()) {
      if (!type->is_string()) return Invalid(where + ".type is not a string");
      f.type = type->get<std::string>();
    }
    if (auto count = item.find("count"); count != item.end() && !count->is_null()) {
      if (!count->is_number_integer() || count->get<int64_t>() < 0) {
        return Invalid(where + ".count is not a non-negative integer");
      }
      f.count = count->get<int64_t>();
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string ParamsBody(const std::vector<std::pair<std::string, std::string>>& params) {
  Json body = {{"resourceType", "Parameters"}, {"parameter", Json::array()}};
  for (const auto& [name, value] : params) {
    Json p = {{"name", name}};
    if (name == "_since" || name == "_till" || name == "_until") {
      p["valueInstant"] = value;
    } else {
      p["valueString"] = value;
    }
    body["parameter"].push_back(std::move(p));
  }
  return body.dump();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ExportParams(
    const ExportRequestOptions& options, std::optional<base::Instant> since,
    std::optional<base::Instant> till, const std::vector<std::string>& types) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!options.output_format.empty()) params.emplace_back("_outputFormat", options.output_format);
  if (since) params.emplace_back("_since", base::FormatInstant(*since));
  if (till && !options.upper_bound_param.empty()) {
    base::Instant bound = options.upper_bound_inclusive ? *till - base::Millis(1) : *till;
    params.emplace_back(options.upper_bound_param, base::FormatInstant(bound));
  }
  if (!types.empty()) params.emplace_back("_type", Join(types));
  for (const auto& f : options.type_filter) params.emplace_back("_typeFilter", f);
  if (!options.include_associated_data.empty()) {
    params.emplace_back("includeAssociatedData", Join(options.include_associated_data));
  }
  for (const auto& p : options.extra_params) params.push_back(p);
  return params;
}

base::Result<Manifest> ParseManifest(std::string_view body) {
  FM_TRY_STATUS(json::CheckNesting(body));
  Json root = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Invalid("not valid JSON");
  if (!root.is_object()) return Invalid("not a JSON object");
  Manifest m;
  auto tt = root.find("transactionTime");
  if (tt == root.end() || !tt->is_string()) return Invalid("'transactionTime' is missing");
  auto instant = base::ParseInstant(tt->get_ref<const std::string&>(), /*allow_partial=*/false);
  if (!instant.ok()) return Invalid("'transactionTime' is not a FHIR instant");
  m.transaction_time = *instant;
  if (auto r = root.find("request"); r != root.end() && r->is_string())
    m.request = r->get<std::string>();
  if (auto r = root.find("requiresAccessToken"); r != root.end() && !r->is_null()) {
    if (!r->is_boolean()) return Invalid("'requiresAccessToken' is not a boolean");
    m.requires_access_token = r->get<bool>();
  }
  FM_ASSIGN_OR_RETURN(m.output, ParseFiles(root, "output", /*required=*/true));
  FM_ASSIGN_OR_RETURN(m.error, ParseFiles(root, "error", /*required=*/false));
  FM_ASSIGN_OR_RETURN(m.deleted, ParseFiles(root, "deleted", /*required=*/false));
  for (size_t i = 0; i < m.output.size(); ++i) {
    if (m.output[i].type.empty())
      return Invalid("output[" + std::to_string(i) + "].type is missing");
  }
  return m;
}

BulkExportClient::BulkExportClient(std::string name, std::string base_url,
                                   http::Transport& transport, env::Clock& clock, PollOptions poll,
                                   NoteHook note, AuthHook auth)
    : name_(std::move(name)),
      base_url_(std::move(base_url)),
      transport_(transport),
      clock_(clock),
      poll_(poll),
      note_(std::move(note)),
      auth_(std::move(auth)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

void BulkExportClient::Note(const std::string& level, const std::string& message) const {
  if (note_) note_(level, message);
}

bool BulkExportClient::MaySendAuthorization(const std::string& url,
                                            bool requires_access_token) const {
  return requires_access_token && auth_ && http::OriginOf(url) == http::OriginOf(base_url_);
}

bool BulkExportClient::AddAuth(http::Request& request, bool allowed, bool force_refresh) const {
  http::RemoveHeader(request.headers, "Authorization");
  if (!allowed || !auth_) return false;
  if (http::OriginOf(request.url) != http::OriginOf(base_url_)) return false;
  auto value = auth_(request.url, force_refresh);
  if (!value) return false;
  http::SetHeader(request.headers, "Authorization", *value);
  return true;
}

base::Result<http::Response> BulkExportClient::SendWithAuth(http::Request& request, bool allowed) {
  bool authorized = AddAuth(request, allowed);
  auto r = transport_.Send(request);
  if (!r.ok() || r->status != 401 || !authorized) return r;
  // The token expired or was revoked before its announced end: renew, once.
  if (!AddAuth(request, allowed, /*force_refresh=*/true)) return r;
  Note("info", name_ + " " + request.method + " " + Redacted(request.url) +
                   " answered 401; renewed the access token, sending once more");
  return transport_.Send(request);
}

base::Millis BulkExportClient::WaitFor(const http::Response& response, base::Millis fallback,
                                       const std::string& what) {
  const std::string* ra = http::FindHeader(response.headers, "Retry-After");
  if (!ra) return fallback;
  auto delay = http::ParseRetryAfter(*ra, clock_.Now());
  if (!delay) return fallback;
  if (*delay > poll_.max_retry_after) {
    Note("warn", name_ + " " + what + ": server asked to wait " + base::FormatDuration(*delay) +
                     " (Retry-After: " + base::Truncate(*ra, 40) + "), clamped to " +
                     base::FormatDuration(poll_.max_retry_after) + " (bulk.max_poll_interval)");
    return poll_.max_retry_after;
  }
  return std::max<base::Millis>(*delay, base::Millis(0));
}

base::Result<std::string> BulkExportClient::KickOff(const ExportRequestOptions& options,
                                                    std::optional<base::Instant> since,
                                                    std::optional<base::Instant> till,
                                                    const std::vector<std::string>& types) {
  std::string path;
  switch (options.level) {
    case ExportLevel::kSystem:
      path = "/$export";
      break;
    case ExportLevel::kPatient:
      path = "/Patient/$export";
      break;
    case ExportLevel::kGroup:
      path = "/Group/" + base::UrlEncode(options.group_id) + "/$export";
      break;
  }
  auto params = ExportParams(options, since, till, types);
  http::Request req;
  req.url = base_url_ + path;
  if (options.post) {
    req.method = "POST";
    req.body = ParamsBody(params);
    http::SetHeader(req.headers, "Content-Type", "application/fhir+json");
  } else {
    std::string query;
    for (const auto& [k, v] : params) {
      query += query.empty() ? "?" : "&";
      query += base::UrlEncode(k) + "=" + base::UrlEncode(v);
    }
    req.url += query;
  }
  http::SetHeader(req.headers, "Accept", "application/fhir+json");
  http::SetHeader(req.headers, "Prefer", "respond-async");
  std::string what = name_ + " " + req.method + " " + path;
  base::Millis backoff = poll_.initial_interval;
  int transient = 0;
  base::Instant started = clock_.Now();
  while (true) {
    if (clock_.Interrupted()) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
    auto r = SendWithAuth(req, true);
    bool retry = false;
    std::string reason;
    if (!r.ok()) {
      if (!base::IsRetryable(r.error().kind)) return r.error();
      retry = true;
      reason = r.error().message;
    } else if (r->status == 202) {
      const std::string* loc = http::FindHeader(r->headers, "Content-Location");
      if (!loc || loc->empty()) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               what + " answered 202 without Content-Location", 202);
      }
      return ResolveLink(base_url_, *loc);
    } else if (r->status == 429 || (r->status >= 500 && !IsFailedForGood(r->body))) {
      // The server's own words (its diagnostics, or a proxy page's text).
      retry = true;
      reason = http::ErrorFromResponse(what, *r, clock_.Now()).message;
    } else {
      return http::ErrorFromResponse(what, *r, clock_.Now());
    }
    if (retry) {
      if (++transient > poll_.max_transient_errors || clock_.Now() - started > poll_.max_wait) {
        return base::MakeError(
            base::ErrorKind::kTransient,
            what + ": gave up after " + std::to_string(transient) + " tries: " + reason);
      }
      base::Millis delay = r.ok() ? WaitFor(*r, backoff, "kick-off") : backoff;
      Note("warn", reason + "; retrying in " + base::FormatDuration(delay));
      if (!clock_.SleepFor(delay)) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
      backoff = std::min(backoff * 2, poll_.max_interval);
    }
  }
}

base::Result<PollResult> BulkExportClient::Poll(const std::string& status_url) {
  if (url_guard_) FM_TRY_STATUS(url_guard_("export status URL", status_url));
  http::Request req;
  req.url = status_url;
  http::SetHeader(req.headers, "Accept", "application/json");
  std::string what = name_ + " export status " + Redacted(status_url);
  base::Millis backoff = poll_.initial_interval;
  int transient = 0;
  base::Instant started = clock_.Now();
  while (true) {
    if (clock_.Interrupted()) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
    if (clock_.Now() - started > poll_.max_wait) {
      return base::MakeError(base::ErrorKind::kTransient, what + ": still running after " +
                                                              base::FormatDuration(poll_.max_wait));
    }
    auto r = SendWithAuth(req, true);  // the current token on every poll
    base::Millis delay = backoff;
    if (!r.ok()) {
      if (!base::IsRetryable(r.error().kind)) return r.error();
      if (++transient > poll_.max_transient_errors) return r.error();
      Note("warn",
           what + ": " + r.error().message + "; polling again in " + base::FormatDuration(delay));
    } else if (r->status == 200) {
      PollResult result;
      FM_ASSIGN_OR_RETURN(result.manifest, ParseManifest(r->body));
      result.body = std::move(r->body);
      return result;
    } else if (r->status == 202) {
      transient = 0;
      delay = WaitFor(*r, backoff, "status poll");
      if (const std::string* p = http::FindHeader(r->headers, "X-Progress")) {
        Note("info", name_ + " export progress: " + base::Truncate(*p, 100));
      }
    } else if (IsGone(r->status)) {
      PollResult result;
      result.gone = true;
      return result;
    } else {
      bool is_transient = r->status == 429 || (r->status >= 500 && !IsFailedForGood(r->body));
      if (!is_transient && r->status >= 400 && r->status < 500) {
        auto issues = ParseOperationOutcome(r->body);
        is_transient = issues.ok() && IsTransientOutcome(*issues);
      }
      if (!is_transient) {
        if (r->status == 401 || r->status == 403 || r->status < 400) {
          return http::ErrorFromResponse(what, *r, clock_.Now());
        }
        // The job failed for good: polling again cannot help.
        PollResult result;
        result.failed = http::ErrorFromResponse(what, *r, clock_.Now());
        result.failed->message = "the export job failed: " + result.failed->message;
        return result;
      }
      if (++transient > poll_.max_transient_errors) {
        return http::ErrorFromResponse(what + " (after " + std::to_string(transient) + " tries)",
                                       *r, clock_.Now());
      }
      delay = WaitFor(*r, backoff, "status poll");
      Note("warn", http::ErrorFromResponse(what, *r, clock_.Now()).message + "; polling again in " +
                       base::FormatDuration(delay));
    }
    if (!clock_.SleepFor(delay)) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
    backoff = std::min(backoff * 2, poll_.max_interval);
  }
}

base::Status BulkExportClient::Delete(const std::string& status_url) {
  if (url_guard_) FM_TRY_STATUS(url_guard_("export status URL", status_url));
  http::Request req;
  req.method = "DELETE";
  req.url = status_url;
  http::SetHeader(req.headers, "Accept", "application/fhir+json");
  FM_ASSIGN_OR_RETURN(auto r, SendWithAuth(req, true));
  if ((r.status >= 200 && r.status < 300) || IsGone(r.status)) return base::Ok();
  return http::ErrorFromResponse(name_ + " DELETE export status " + Redacted(status_url), r,
                                 clock_.Now());
}

base::Result<DownloadResult> BulkExportClient::Download(const std::string& url,
                                                        bool requires_access_token, uint64_t offset,
                                                        const http::BodySink& sink) {
  if (url_guard_) FM_TRY_STATUS(url_guard_("export file URL", url));
  http::Request req;
  req.url = url;
  // Redirects are followed below, hop by hop: each target passes the URL
  // guard and gets Authorization only on the FHIR base's origin.
  req.follow_redirects = false;
  http::SetHeader(req.headers, "Accept", "application/fhir+ndjson");
  if (offset > 0) {
    req.accept_gzip = false;  // Range applies to the identity representation
    http::SetHeader(req.headers, "Range", "bytes=" + std::to_string(offset) + "-");
  }
  uint64_t delivered = 0;
  req.on_body = [&](std::string_view chunk) -> base::Status {  // 2xx bodies only
    delivered += chunk.size();
    return sink(chunk);
  };
  for (int hops = 0;; ++hops) {
    FM_ASSIGN_OR_RETURN(auto r,
                        SendWithAuth(req, MaySendAuthorization(req.url, requires_access_token)));
    if (IsRedirect(r.status)) {
      const std::string* location = http::FindHeader(r.headers, "Location");
      std::string what = name_ + " GET export file " + Redacted(url);
      if (!location || location->empty()) {
        return base::MakeError(
            base::ErrorKind::kInvalidData,
            what + ": redirect " + std::to_string(r.status) + " without Location", r.status);
      }
      if (hops == kMaxRedirects) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               what + ": more than " + std::to_string(kMaxRedirects) + " redirects",
                               r.status);
      }
      std::string next = ResolveLocation(req.url, *location);
      if (url_guard_) {
        FM_TRY_STATUS(
            url_guard_("export file redirect target (from " + Redacted(req.url) + ")", next));
      }
      req.url = std::move(next);
      continue;
    }
    if (r.status != 200 && r.status != 206) {
      return http::ErrorFromResponse(name_ + " GET export file " + Redacted(req.url), r,
                                     clock_.Now());
    }
    return DownloadResult{r.status, delivered};
  }
}

base::Status WaitToRetryDownload(const base::Error& e, int attempt, const std::string& shown,
                                 uint64_t resume_from, DownloadRetry& retry, env::Clock& clock,
                                 const NoteHook& note) {
  if (!base::IsRetryable(e.kind) || attempt >= retry.max_attempts) {
    return base::MakeError(e.kind,
                           "file " + shown + ": download failed after " + std::to_string(attempt) +
                               " attempts: " + e.message,
                           e.http_status);
  }
  base::Millis delay = retry.backoff;
  if (e.retry_after) delay = std::min<base::Millis>(*e.retry_after, retry.max_backoff);
  if (note) {
    std::string from =
        resume_from > 0 ? "from byte " + std::to_string(resume_from) + " (Range)" : "the file";
    note("warn", "file " + shown + ": " + e.message + "; retrying " + from + " in " +
                     base::FormatDuration(delay));
  }
  if (!clock.SleepFor(delay)) return base::MakeError(base::ErrorKind::kCancelled, "stopped");
  retry.backoff = std::min(retry.backoff * 2, retry.max_backoff);
  return base::Ok();
}

}  // namespace fm::fhir
