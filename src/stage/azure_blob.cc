#include "stage/azure_blob.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "base/strings.h"

namespace fm::stage {
namespace {

constexpr const char* kSasVersion = "2019-12-12";

std::string PathOf(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (start == std::string_view::npos) return "/";
  size_t end = url.find_first_of("?#", start);
  return std::string(url.substr(start, end == std::string_view::npos ? url.size() - start : end - start));
}

std::string QueryOf(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return "";
  size_t end = url.find('#', q);
  return std::string(url.substr(q + 1, end == std::string_view::npos ? url.size() - q - 1 : end - q - 1));
}

std::string HeaderOr(const http::Headers& headers, std::string_view name) {
  const std::string* v = http::FindHeader(headers, name);
  return v ? *v : "";
}

// Text between <tag> and </tag> occurrences, in order.
std::vector<std::string> XmlValues(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.emplace_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

base::Result<std::string> Base64Decode(std::string_view text) {
  std::string in(base::Trim(text));
  if (in.empty() || in.size() % 4 != 0) {
    return base::MakeError(base::ErrorKind::kFatal, "the storage account key is not base64");
  }
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return base::MakeError(base::ErrorKind::kFatal, "the storage account key is not base64");
  size_t len = static_cast<size_t>(n);
  if (in.size() >= 1 && in[in.size() - 1] == '=') len--;
  if (in.size() >= 2 && in[in.size() - 2] == '=') len--;
  out.resize(len);
  return out;
}

base::Result<std::string> SignWithAccountKey(std::string_view base64_key, std::string_view text) {
  FM_ASSIGN_OR_RETURN(std::string key, Base64Decode(base64_key));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len)) {
    return base::MakeError(base::ErrorKind::kFatal, "HMAC-SHA256 failed");
  }
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string SharedKeyStringToSign(const http::Request& request, std::string_view account) {
  std::string s = request.method + "\n";
  s += HeaderOr(request.headers, "Content-Encoding") + "\n";
  s += HeaderOr(request.headers, "Content-Language") + "\n";
  s += (request.body.empty() ? std::string() : std::to_string(request.body.size())) + "\n";
  s += HeaderOr(request.headers, "Content-MD5") + "\n";
  s += HeaderOr(request.headers, "Content-Type") + "\n";
  s += HeaderOr(request.headers, "Date") + "\n";
  s += HeaderOr(request.headers, "If-Modified-Since") + "\n";
  s += HeaderOr(request.headers, "If-Match") + "\n";
  s += HeaderOr(request.headers, "If-None-Match") + "\n";
  s += HeaderOr(request.headers, "If-Unmodified-Since") + "\n";
  s += HeaderOr(request.headers, "Range") + "\n";
  // Canonicalized headers: x-ms-*, lower-cased, sorted, values trimmed.
  std::map<std::string, std::string> ms;
  for (const auto& h : request.headers) {
    std::string name = base::ToLower(h.name);
    if (base::StartsWith(name, "x-ms-")) ms[name] = std::string(base::Trim(h.value));
  }
  for (const auto& [name, value] : ms) s += name + ":" + value + "\n";
  // Canonicalized resource: /account/path, then sorted query parameters.
  s += "/" + std::string(account) + PathOf(request.url);
  std::map<std::string, std::vector<std::string>> query;
  const std::string query_string = QueryOf(request.url);
  for (std::string_view pair : base::Split(query_string, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = base::ToLower(base::UrlDecode(pair.substr(0, eq)));
    std::string value = eq == std::string_view::npos ? "" : base::UrlDecode(pair.substr(eq + 1));
    query[name].push_back(value);
  }
  for (auto& [name, values] : query) {
    std::sort(values.begin(), values.end());
    s += "\n" + name + ":" + base::Join(values, ",");
  }
  return s;
}

base::Status SignRequestSharedKey(http::Request& request, std::string_view account,
                                  std::string_view base64_key, base::Instant now) {
  http::SetHeader(request.headers, "x-ms-date", base::FormatHttpDate(now));
  FM_ASSIGN_OR_RETURN(std::string sig,
                      SignWithAccountKey(base64_key, SharedKeyStringToSign(request, account)));
  http::SetHeader(request.headers, "Authorization", "SharedKey " + std::string(account) + ":" + sig);
  return base::Ok();
}

std::string BlobSasStringToSign(std::string_view permissions, std::string_view expiry,
                                std::string_view account, std::string_view container,
                                std::string_view blob, std::string_view version) {
  std::string s;
  s += std::string(permissions) + "\n";  // sp
  s += "\n";                             // st
  s += std::string(expiry) + "\n";       // se
  s += "/blob/" + std::string(account) + "/" + std::string(container) + "/" + std::string(blob) + "\n";
  s += "\n";                             // si
  s += "\n";                             // sip
  s += "\n";                             // spr
  s += std::string(version) + "\n";      // sv
  s += "b\n";                            // sr
  s += "\n";                             // snapshot time
  s += "\n\n\n\n";                       // rscc rscd rsce rscl
  return s;                              // rsct (empty, last)
}

std::string SasTime(base::Instant t) {
  std::time_t secs = static_cast<std::time_t>(base::ToEpochMillis(t) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string BlockId(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fm-block-%08d", index);
  return Base64Encode(buf);
}

AzureBlobClient::AzureBlobClient(http::Transport& transport, env::Clock& clock, env::FileSystem& fs,
                                 AzureBlobOptions options)
    : transport_(transport), clock_(clock), fs_(fs), options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
  if (!options_.sas_token.empty() && options_.sas_token.front() == '?') options_.sas_token.erase(0, 1);
  options_.block_size = std::max<size_t>(options_.block_size, 1);
}

std::string AzureBlobClient::ContainerUrl() const {
  return options_.endpoint + "/" + options_.container;
}

std::string AzureBlobClient::BlobUrl(const std::string& blob_name) const {
  std::string name = options_.prefix + blob_name;
  std::string encoded;
  for (std::string_view seg : base::Split(name, '/')) {
    if (!encoded.empty() || name.front() == '/') encoded += "/";
    encoded += base::UrlEncode(seg);
  }
  return ContainerUrl() + "/" + encoded;
}

base::Result<http::Response> AzureBlobClient::Send(http::Request request, std::string_view what) {
  if (!options_.sas_token.empty()) {
    request.url += (request.url.find('?') == std::string::npos ? "?" : "&") + options_.sas_token;
  }
  http::SetHeader(request.headers, "x-ms-version", options_.api_version);
  // curl would add its own Content-Type to a body; make it explicit (it is signed).
  if (request.method == "PUT" && !http::FindHeader(request.headers, "Content-Type")) {
    http::SetHeader(request.headers, "Content-Type", "application/octet-stream");
  }
  request.accept_gzip = false;
  if (options_.sas_token.empty()) {
    if (options_.account_key.empty()) {
      return base::MakeError(base::ErrorKind::kFatal,
                             "azure-blob staging needs a SAS token or an account key");
    }
    FM_TRY_STATUS(SignRequestSharedKey(request, options_.account, options_.account_key, clock_.Now()));
  }
  std::string label = "blob storage " + std::string(what);
  auto sent = transport_.Send(request);
  if (!sent.ok()) {
    sent.error().message = label + ": " + sent.error().message;
    return sent.error();
  }
  if (sent->status >= 200 && sent->status < 300) return sent;
  base::Error e = http::ErrorFromResponse(label, *sent, clock_.Now());
  // Storage errors are XML: <Code>..</Code><Message>..</Message>.
  auto codes = XmlValues(sent->body, "Code");
  auto messages = XmlValues(sent->body, "Message");
  if (!codes.empty()) e.message += " (" + codes[0] + (messages.empty() ? "" : ": " + base::Truncate(messages[0], 300)) + ")";
  return e;
}

base::Status AzureBlobClient::CreateContainerIfMissing() {
  http::Request request;
  request.method = "PUT";
  request.url = ContainerUrl() + "?restype=container";
  auto sent = Send(std::move(request), "create container " + options_.container);
  if (!sent.ok() && sent.error().http_status == 409) return base::Ok();  // exists
  // A container SAS cannot create containers (403): the container is expected
  // to exist, and an upload with a SAS that is really refused fails next.
  if (!sent.ok() && sent.error().http_status == 403 && !options_.sas_token.empty()) {
    return base::Ok();
  }
  if (!sent.ok()) return sent.error();
  return base::Ok();
}

base::Result<UploadedBlob> AzureBlobClient::UploadFile(const std::string& local_path,
                                                       const std::string& blob_name) {
  FM_ASSIGN_OR_RETURN(uint64_t size, fs_.FileSize(local_path));
  FM_ASSIGN_OR_RETURN(auto file, fs_.OpenForRead(local_path));
  UploadedBlob out;
  out.blob_name = options_.prefix + blob_name;
  out.url = BlobUrl(blob_name);
  out.bytes = size;

  auto read_block = [&](std::string& buf) -> base::Status {
    buf.resize(options_.block_size);
    size_t filled = 0;
    while (filled < buf.size()) {
      FM_ASSIGN_OR_RETURN(size_t n, file->Read(buf.data() + filled, buf.size() - filled));
      if (n == 0) break;
      filled += n;
    }
    buf.resize(filled);
    return base::Ok();
  };

  if (size <= options_.block_size) {
    http::Request request;
    request.method = "PUT";
    request.url = out.url;
    FM_TRY_STATUS(read_block(request.body));
    http::SetHeader(request.headers, "x-ms-blob-type", "BlockBlob");
    http::SetHeader(request.headers, "x-ms-blob-content-type", "application/fhir+ndjson");
    FM_ASSIGN_OR_RETURN(http::Response r, Send(std::move(request), "Put Blob " + out.blob_name));
    out.etag = HeaderOr(r.headers, "ETag");
    return out;
  }

  std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (int index = 0;; ++index) {
    http::Request request;
    request.method = "PUT";
    FM_TRY_STATUS(read_block(request.body));
    if (request.body.empty()) break;
    std::string id = BlockId(index);
    request.url = out.url + "?comp=block&blockid=" + base::UrlEncode(id);
    FM_TRY_STATUS(Send(std::move(request), "Put Block " + std::to_string(index) + " of " + out.blob_name));
    xml += "<Latest>" + id + "</Latest>";
    out.blocks++;
  }
  xml += "</BlockList>";
  http::Request commit;
  commit.method = "PUT";
  commit.url = out.url + "?comp=blocklist";
  commit.body = std::move(xml);
  http::SetHeader(commit.headers, "Content-Type", "application/xml");
  http::SetHeader(commit.headers, "x-ms-blob-content-type", "application/fhir+ndjson");
  FM_ASSIGN_OR_RETURN(http::Response r, Send(std::move(commit), "Put Block List " + out.blob_name));
  out.etag = HeaderOr(r.headers, "ETag");
  return out;
}

base::Result<std::vector<BlockInfo>> AzureBlobClient::CommittedBlocks(const std::string& blob_name) {
  http::Request request;
  request.url = BlobUrl(blob_name) + "?comp=blocklist&blocklisttype=committed";
  FM_ASSIGN_OR_RETURN(http::Response r, Send(std::move(request), "Get Block List " + blob_name));
  std::vector<BlockInfo> out;
  for (const std::string& block : XmlValues(r.body, "Block")) {
    auto names = XmlValues(block, "Name");
    auto sizes = XmlValues(block, "Size");
    BlockInfo b;
    if (!names.empty()) b.name = names[0];
    if (!sizes.empty()) b.size = std::strtoull(sizes[0].c_str(), nullptr, 10);
    out.push_back(std::move(b));
  }
  return out;
}

base::Result<std::string> AzureBlobClient::Download(const std::string& blob_name) {
  http::Request request;
  request.url = BlobUrl(blob_name);
  FM_ASSIGN_OR_RETURN(http::Response r, Send(std::move(request), "Get Blob " + blob_name));
  return std::move(r.body);
}

base::Result<std::string> AzureBlobClient::ReadSasUrl(const std::string& blob_name) const {
  if (options_.account_key.empty()) {
    if (!options_.sas_token.empty()) return BlobUrl(blob_name) + "?" + options_.sas_token;
    return base::MakeError(base::ErrorKind::kFatal,
                           "azure-blob: read SAS URLs for $import need the account key or a SAS");
  }
  std::string expiry = SasTime(clock_.Now() + options_.sas_lifetime);
  std::string name = options_.prefix + blob_name;
  FM_ASSIGN_OR_RETURN(std::string sig,
                      SignWithAccountKey(options_.account_key,
                                         BlobSasStringToSign("r", expiry, options_.account,
                                                             options_.container, name, kSasVersion)));
  return BlobUrl(blob_name) + "?sv=" + kSasVersion + "&sr=b&sp=r&se=" + base::UrlEncode(expiry) +
         "&sig=" + base::UrlEncode(sig);
}

}  // namespace fm::stage
