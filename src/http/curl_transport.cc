// The libcurl adapter behind Transport.
//
// Threads: every Send borrows an easy handle from a mutex-protected idle list
// (LIFO) and returns it afterwards. An easy handle keeps its live connections
// across curl_easy_reset, so keep-alive works for whichever thread borrows it
// next. DNS and TLS sessions live in a CURLSH shared by all handles. The
// connection cache is deliberately NOT shared: libcurl documents
// CURL_LOCK_DATA_CONNECT as unsupported across concurrent threads (curl
// KNOWN_BUGS; issues #4544, #13840).
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>
#include <vector>

#include "base/strings.h"
#include "http/curl_errors.h"
#include "http/transport.h"
#include "http/url_parts.h"

namespace fm::http {
namespace {

using base::ErrorKind;
using base::MakeError;

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxIdleHandles = 64;

bool GlobalInit() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return code == CURLE_OK;
}

bool IsSuccess(int status) { return status >= 200 && status <= 299; }
bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// What the callbacks of one curl_easy_perform saw.
struct Exchange {
  const Request& request;
  const CurlOptions& options;
  std::string host;
  int status = 0;           // of the response being received
  Headers headers;          // of the response being received
  size_t header_bytes = 0;  // of the response being received
  bool streaming = false;   // its body goes to request.on_body
  std::string body;
  uint64_t body_bytes = 0;           // delivered to the sink or kept in body
  uint64_t received = 0;             // decoded body bytes, kept or not
  std::optional<base::Error> abort;  // why a callback stopped the transfer
};

int ParseStatusLine(std::string_view line) {  // "HTTP/1.1 200 OK", "HTTP/2 200"
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  int status = 0;
  std::from_chars(line.data() + space + 1, line.data() + line.size(), status);
  return status;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto& ex = *static_cast<Exchange*>(user);
  size_t length = size * count;
  std::string_view line(data, length);
  if (base::StartsWith(line, "HTTP/")) {  // a new response: 1xx, a redirect hop or the final one
    ex.status = ParseStatusLine(line);
    ex.headers.clear();
    ex.header_bytes = 0;
    ex.streaming = false;
    ex.body.clear();
    ex.body_bytes = ex.received = 0;
  }
  ex.header_bytes += length;
  if (ex.header_bytes > ex.options.max_header_bytes) {
    ex.abort =
        MakeError(ErrorKind::kInvalidData, "response headers from " + ex.host + " exceed " +
                                               std::to_string(ex.options.max_header_bytes) +
                                               " bytes (max_header_bytes); refusing the response");
    return 0;
  }
  std::string_view text = line;
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  if (text.empty()) {  // end of this response's headers
    ex.streaming = ex.request.on_body && IsSuccess(ex.status);
  } else if ((text.front() == ' ' || text.front() == '\t') && !ex.headers.empty()) {
    ex.headers.back().value += " " + std::string(base::Trim(text));  // obsolete line folding
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    ex.headers.push_back({std::string(base::Trim(text.substr(0, colon))),
                          std::string(base::Trim(text.substr(colon + 1)))});
  }
  return length;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& ex = *static_cast<Exchange*>(user);
  size_t length = size * count;
  std::string_view chunk(data, length);
  ex.received += length;
  if (ex.streaming) {
    base::Status status = ex.request.on_body(chunk);
    if (!status.ok()) {
      ex.abort = std::move(status.error());
      return 0;
    }
    ex.body_bytes += length;
    return length;
  }
  size_t keep = length;
  if (!IsSuccess(ex.status)) {
    size_t room = ex.options.max_error_body - std::min(ex.options.max_error_body, ex.body.size());
    keep = std::min(keep, room);
  }
  ex.body.append(chunk.substr(0, keep));
  ex.body_bytes += keep;
  return length;
}

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

base::Result<HeaderList> BuildHeaderList(const Request& request) {
  HeaderList list(nullptr, &curl_slist_free_all);
  auto append = [&](const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) return false;
    (void)list.release();  // curl_slist_append returned the same list, grown
    list.reset(grown);
    return true;
  };
  for (const Header& header : request.headers) {
    if (header.name.find_first_of("\r\n:") != std::string::npos ||
        header.value.find_first_of("\r\n") != std::string::npos) {
      return MakeError(ErrorKind::kFatal, "request header '" + base::Truncate(header.name, 40) +
                                              "' contains a line break or colon");
    }
    // "Name;" is libcurl's spelling of a header with an empty value.
    if (!append(header.value.empty() ? header.name + ";" : header.name + ": " + header.value)) {
      return MakeError(ErrorKind::kFatal, "out of memory building request headers");
    }
  }
  // No "Expect: 100-continue" round trip before request bodies.
  if (!FindHeader(request.headers, "Expect") && !append("Expect:")) {
    return MakeError(ErrorKind::kFatal, "out of memory building request headers");
  }
  return list;
}

class CurlTransport : public Transport {
 public:
  explicit CurlTransport(const CurlOptions& options) : options_(options) {
    global_ok_ = GlobalInit();
    if (!global_ok_) return;
    share_ = curl_share_init();
    if (share_ == nullptr) return;
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::LockShare);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::UnlockShare);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  // REQUIRES: no Send in progress.
  ~CurlTransport() override {
    for (CURL* curl : idle_) curl_easy_cleanup(curl);
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  base::Result<Response> Send(const Request& request) override {
    if (!global_ok_) return MakeError(ErrorKind::kFatal, "libcurl failed to initialise");
    CURL* curl = Acquire();
    if (curl == nullptr) return MakeError(ErrorKind::kFatal, "cannot create a libcurl handle");
    struct Lease {
      CurlTransport* self;
      CURL* curl;
      ~Lease() { self->Release(curl); }
    } lease{this, curl};
    if (request.follow_redirects && FindHeader(request.headers, "Authorization")) {
      return FollowManually(curl, request);
    }
    return Perform(curl, request, request.follow_redirects, nullptr);
  }

 private:
  static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<CurlTransport*>(self)->share_mu_[data].lock();
  }
  static void UnlockShare(CURL*, curl_lock_data data, void* self) {
    static_cast<CurlTransport*>(self)->share_mu_[data].unlock();
  }

  CURL* Acquire() {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        CURL* curl = idle_.back();
        idle_.pop_back();
        return curl;
      }
    }
    CURL* curl = curl_easy_init();
    // The share survives curl_easy_reset, so it is attached once.
    if (curl != nullptr && share_ != nullptr) curl_easy_setopt(curl, CURLOPT_SHARE, share_);
    return curl;
  }

  void Release(CURL* curl) {
    {
      std::lock_guard lock(pool_mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(curl);
        return;
      }
    }
    curl_easy_cleanup(curl);
  }

  // Follows redirects one hop at a time so that the Authorization header goes
  // only to the origin of the original URL.
  base::Result<Response> FollowManually(CURL* curl, const Request& request) {
    const std::string origin = OriginOf(request.url);
    const std::string authorization = *FindHeader(request.headers, "Authorization");
    std::optional<Request> hop;  // copied only when the server redirects
    const Request* current = &request;
    for (int redirects = 0;; ++redirects) {
      std::string next_url;
      FM_ASSIGN_OR_RETURN(Response response, Perform(curl, *current, false, &next_url));
      if (!IsRedirect(response.status) || next_url.empty()) return response;
      if (redirects == kMaxRedirects) {
        return MakeError(ErrorKind::kFatal, "too many redirects (more than " +
                                                std::to_string(kMaxRedirects) + ") starting at " +
                                                base::RedactUrl(request.url));
      }
      if (!hop) hop = request;
      hop->url = std::move(next_url);
      if (response.status == 303 ||
          ((response.status == 301 || response.status == 302) && hop->method == "POST")) {
        if (hop->method != "HEAD") hop->method = "GET";
        hop->body.clear();
      }
      if (OriginOf(hop->url) == origin) {
        SetHeader(hop->headers, "Authorization", authorization);
      } else {
        RemoveHeader(hop->headers, "Authorization");
      }
      current = &*hop;
    }
  }

  void Configure(CURL* curl, const Request& request, bool follow, curl_slist* headers, Exchange& ex,
                 char* errbuf) {
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
    base::Millis timeout = request.timeout, connect_timeout = request.connect_timeout;
    if (options_.request_timeout.count() > 0) {
      connect_timeout = std::min(connect_timeout, options_.request_timeout);
      if (!request.on_body) timeout = std::min(timeout, options_.request_timeout);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 60L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 30L);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (request.accept_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_bundle.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(kMaxRedirects));
    curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    const std::string& method = request.method;
    if (method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
      if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      }
    }
  }

  // One exchange on `curl`. With `redirect_url`, reports where a 3xx points.
  base::Result<Response> Perform(CURL* curl, const Request& request, bool follow,
                                 std::string* redirect_url) {
    auto parts = ParseUrlParts(request.url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
      return MakeError(
          ErrorKind::kFatal,
          "not an http(s) URL: '" + base::Truncate(base::RedactUrl(request.url), 200) + "'");
    }
    FM_ASSIGN_OR_RETURN(HeaderList headers, BuildHeaderList(request));
    Exchange ex{request, options_, parts->host};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_reset(curl);
    Configure(curl, request, follow, headers.get(), ex, errbuf);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // errbuf dies with this frame
    if (ex.abort) return std::move(*ex.abort);
    if (code != CURLE_OK) return FromCurlCode(code, errbuf, request.url, ex.received);
    long status = 0;
    char* effective_url = nullptr;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective_url);
    if (redirect_url != nullptr) {
      char* location = nullptr;
      curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
      if (location != nullptr) *redirect_url = location;
    }
    Response response;
    response.status = static_cast<int>(status);
    response.headers = std::move(ex.headers);
    response.body = std::move(ex.body);
    response.effective_url = effective_url != nullptr ? effective_url : request.url;
    response.body_bytes = ex.body_bytes;
    return response;
  }

  const CurlOptions options_;
  bool global_ok_ = false;
  CURLSH* share_ = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_mu_;
  std::mutex pool_mu_;
  std::vector<CURL*> idle_;  // LIFO, so a lone thread keeps its warm connection
};

}  // namespace

std::unique_ptr<Transport> NewCurlTransport(const CurlOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace fm::http
