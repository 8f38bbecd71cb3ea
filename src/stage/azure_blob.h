// Azure Blob Storage over the Blob REST API and the project's http::Transport:
// create a container, upload a staged NDJSON file as a block blob (Put Block +
// Put Block List, streamed from disk one block at a time), and hand `$import`
// read-only service SAS URLs. Auth: a SAS token, or Shared Key (HMAC-SHA256
// of the canonicalized request). Works against Azurite (path-style endpoint
// http://127.0.0.1:PORT/devstoreaccount1). See docs/import-and-staging.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "http/transport.h"

namespace fm::stage {

struct AzureBlobOptions {
  // Account endpoint without a trailing slash:
  //   https://ACCOUNT.blob.core.windows.net   or (Azurite, path style)
  //   http://127.0.0.1:10000/devstoreaccount1
  std::string endpoint;
  std::string account;      // account name (Shared Key and SAS signing)
  std::string container;
  std::string account_key;  // base64; Shared Key auth and SAS generation
  std::string sas_token;    // "sv=...&sig=..." (a leading '?' is ignored); used when set
  std::string prefix;       // prepended to blob names ("run-1/")
  size_t block_size = 8u << 20;          // Put Block size (≤ 4000 MiB)
  std::string api_version = "2021-08-06";  // x-ms-version
  base::Millis sas_lifetime{std::chrono::hours(24)};
};

struct UploadedBlob {
  std::string blob_name;
  std::string url;   // without any SAS
  std::string etag;
  uint64_t bytes = 0;
  int blocks = 0;    // 0 when sent with one Put Blob
};

struct BlockInfo {
  std::string name;  // base64 block id
  uint64_t size = 0;
};

class AzureBlobClient {
 public:
  // `transport` should retry 429/5xx (http::NewRetryingTransport).
  AzureBlobClient(http::Transport& transport, env::Clock& clock, env::FileSystem& fs,
                  AzureBlobOptions options);

  const AzureBlobOptions& options() const { return options_; }

  // PUT ?restype=container; an existing container (409) is fine, and so is a
  // 403 under SAS auth (a container SAS cannot create its container).
  base::Status CreateContainerIfMissing();

  // Uploads a local file: one Put Blob when it fits in one block, else Put
  // Block per block_size bytes and one Put Block List. Memory: one block.
  base::Result<UploadedBlob> UploadFile(const std::string& local_path, const std::string& blob_name);

  // The committed blocks of a blob (Get Block List).
  base::Result<std::vector<BlockInfo>> CommittedBlocks(const std::string& blob_name);

  // GET a blob's contents (tests, small blobs).
  base::Result<std::string> Download(const std::string& blob_name);

  // "endpoint/container/prefix+name" (no SAS).
  std::string BlobUrl(const std::string& blob_name) const;

  // A read-only service SAS URL (sp=r, sr=b, se=now+sas_lifetime) for
  // `$import`, signed with account_key. Without a key, the blob URL with the
  // configured sas_token (its permissions and expiry, not sas_lifetime's);
  // kFatal when there is neither.
  base::Result<std::string> ReadSasUrl(const std::string& blob_name) const;

 private:
  base::Result<http::Response> Send(http::Request request, std::string_view what);
  std::string ContainerUrl() const;

  http::Transport& transport_;
  env::Clock& clock_;
  env::FileSystem& fs_;
  AzureBlobOptions options_;
};

// Pieces public for tests.

// The Shared Key string-to-sign of a request (Blob service, version
// 2015-02-21 and later: Content-Length empty when zero).
std::string SharedKeyStringToSign(const http::Request& request, std::string_view account);
// base64(HMAC-SHA256(base64decode(key), text)); kFatal when the key is not base64.
base::Result<std::string> SignWithAccountKey(std::string_view base64_key, std::string_view text);
// Adds x-ms-date (from `now`), x-ms-version when absent, and Authorization: SharedKey.
base::Status SignRequestSharedKey(http::Request& request, std::string_view account,
                                  std::string_view base64_key, base::Instant now);
// Service SAS string-to-sign for a blob, signed version 2018-11-09 form
// (sv 2019-12-12): sp, st, se, /blob/account/container/blob, si, sip, spr, sv,
// sr, snapshot, rscc, rscd, rsce, rscl, rsct.
std::string BlobSasStringToSign(std::string_view permissions, std::string_view expiry,
                                std::string_view account, std::string_view container,
                                std::string_view blob, std::string_view version);
// "2024-01-02T03:04:05Z" (SAS times carry no fraction).
std::string SasTime(base::Instant t);
std::string Base64Encode(std::string_view bytes);
base::Result<std::string> Base64Decode(std::string_view text);
// The block id of block number `index`: base64 of a fixed-length string.
std::string BlockId(int index);

}  // namespace fm::stage
