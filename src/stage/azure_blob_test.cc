#include "stage/azure_blob.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "base/strings.h"
#include "env/clock.h"
#include "http/fake_transport.h"

namespace fm::stage {
namespace {

// Azurite's published development account key.
constexpr const char* kKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// The expected signatures below were computed independently with
//   openssl dgst -sha256 -mac HMAC -macopt hexkey:$(base64 -d <<<KEY | xxd -p -c 256) -binary | base64
// over the string-to-sign spelled out in each test.
TEST(AzureBlobTest, SharedKeyStringToSignAndSignature) {
  http::Request r;
  r.method = "PUT";
  r.url = "http://127.0.0.1:10000/devstoreaccount1/c1/a%20b.ndjson?comp=block&blockid=AAA%3D";
  r.body = "hello world";
  http::SetHeader(r.headers, "Content-Type", "application/octet-stream");
  http::SetHeader(r.headers, "x-ms-version", "2021-08-06");
  http::SetHeader(r.headers, "X-Ms-Blob-Type", "BlockBlob");
  http::SetHeader(r.headers, "x-ms-date", "Thu, 26 Nov 2026 14:00:00 GMT");
  std::string expected =
      "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Thu, 26 Nov 2026 14:00:00 GMT\nx-ms-version:2021-08-06\n"
      "/devstoreaccount1/devstoreaccount1/c1/a%20b.ndjson\nblockid:AAA=\ncomp:block";
  EXPECT_EQ(SharedKeyStringToSign(r, "devstoreaccount1"), expected);
  auto sig = SignWithAccountKey(kKey, expected);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "0TNeMwm9sXNT1MJ25XCKZVd1wbTBWgopzGLsASzwFCM=");
  EXPECT_FALSE(SignWithAccountKey("not base64!", "x").ok());
}

TEST(AzureBlobTest, ServiceSasSignature) {
  std::string sts = BlobSasStringToSign("r", "2026-11-27T14:00:00Z", "devstoreaccount1", "c1",
                                        "run/Patient-1.ndjson", "2019-12-12");
  EXPECT_EQ(sts, "r\n\n2026-11-27T14:00:00Z\n/blob/devstoreaccount1/c1/run/Patient-1.ndjson\n\n\n\n"
                 "2019-12-12\nb\n\n\n\n\n\n");
  auto sig = SignWithAccountKey(kKey, sts);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "vVFjNjjQdY3GNDYjf9L3+3XpOpgiuJbfOJu192FWCUM=");
}

TEST(AzureBlobTest, Base64RoundTripAndBlockIdsHaveOneLength) {
  for (std::string s : {"", "a", "ab", "abc", "abcd"}) {
    if (s.empty()) continue;
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(BlockId(0).size(), BlockId(12345).size());
  EXPECT_NE(BlockId(0), BlockId(1));
  EXPECT_EQ(SasTime(base::FromEpochMillis(1700000000123)), "2023-11-14T22:13:20Z");
}

struct World {
  env::ManualClock clock{base::FromEpochMillis(1'700'000'000'000)};
  std::unique_ptr<env::FileSystem> fs = env::NewPosixFileSystem();
  std::vector<http::Request> seen;
  std::function<http::Response(const http::Request&)> answer = [](const http::Request&) {
    http::Response r;
    r.status = 201;
    r.headers.push_back({"ETag", "\"0x1\""});
    return r;
  };
  http::FakeTransport transport{[this](const http::Request& r) -> base::Result<http::Response> {
    seen.push_back(r);
    return answer(r);
  }};
};

std::string WriteTemp(const std::string& content) {
  std::string path = ::testing::TempDir() + "/fm_blob_" + std::to_string(::getpid()) + "_" +
                     std::to_string(content.size());
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(AzureBlobTest, LargeFilesGoUpInBlocksThenOneBlockList) {
  World w;
  AzureBlobOptions o;
  o.endpoint = "http://127.0.0.1:10000/devstoreaccount1/";
  o.account = "devstoreaccount1";
  o.container = "staging";
  o.account_key = kKey;
  o.block_size = 10;
  AzureBlobClient client(w.transport, w.clock, *w.fs, o);
  std::string path = WriteTemp("0123456789abcdefghijKLMNO");  // 25 bytes → 3 blocks
  auto up = client.UploadFile(path, "Patient-1.ndjson");
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  EXPECT_EQ(up->blocks, 3);
  EXPECT_EQ(up->bytes, 25u);
  EXPECT_EQ(up->url, "http://127.0.0.1:10000/devstoreaccount1/staging/Patient-1.ndjson");
  ASSERT_EQ(w.seen.size(), 4u);
  EXPECT_EQ(w.seen[0].body, "0123456789");
  EXPECT_EQ(w.seen[2].body, "KLMNO");
  EXPECT_NE(w.seen[0].url.find("?comp=block&blockid="), std::string::npos);
  EXPECT_NE(w.seen[3].url.find("?comp=blocklist"), std::string::npos);
  EXPECT_NE(w.seen[3].body.find("<Latest>" + BlockId(2) + "</Latest>"), std::string::npos);
  for (const auto& r : w.seen) {
    const std::string* auth = http::FindHeader(r.headers, "Authorization");
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->rfind("SharedKey devstoreaccount1:", 0), 0u);
    EXPECT_NE(http::FindHeader(r.headers, "x-ms-date"), nullptr);
    EXPECT_EQ(*http::FindHeader(r.headers, "x-ms-version"), "2021-08-06");
    // The signature covers exactly what is sent.
    auto sig = SignWithAccountKey(kKey, SharedKeyStringToSign(r, "devstoreaccount1"));
    EXPECT_EQ(*auth, "SharedKey devstoreaccount1:" + *sig);
  }
  std::remove(path.c_str());
}

TEST(AzureBlobTest, SmallFilesAreOnePutBlobAndSasTokensReplaceSharedKey) {
  World w;
  AzureBlobOptions o;
  o.endpoint = "https://acct.blob.core.windows.net";
  o.account = "acct";
  o.container = "c";
  o.sas_token = "?sv=2021-08-06&sig=abc";
  AzureBlobClient client(w.transport, w.clock, *w.fs, o);
  std::string path = WriteTemp("{}\n");
  auto up = client.UploadFile(path, "x.ndjson");
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  ASSERT_EQ(w.seen.size(), 1u);
  EXPECT_EQ(up->blocks, 0);
  EXPECT_EQ(w.seen[0].url, "https://acct.blob.core.windows.net/c/x.ndjson?sv=2021-08-06&sig=abc");
  EXPECT_EQ(*http::FindHeader(w.seen[0].headers, "x-ms-blob-type"), "BlockBlob");
  EXPECT_EQ(http::FindHeader(w.seen[0].headers, "Authorization"), nullptr);
  std::remove(path.c_str());
}

// `fhir-migrate run` with staging.azure_sas_env and no key halted every window:
// creating the container answered 403 (a container SAS cannot create its
// container), and once past that, no $import URL could be made because read
// SAS URLs needed the account key. With a SAS only, the container must exist
// and $import gets the blob URL with that SAS.
TEST(AzureBlobTest, WithOnlyAContainerSasTheContainerIsAssumedAndImportGetsThatSas) {
  World w;
  AzureBlobOptions o;
  o.endpoint = "http://h/devstoreaccount1";
  o.account = "devstoreaccount1";
  o.container = "c";
  o.sas_token = "?sv=2019-12-12&sr=c&sp=racwl&sig=abc";
  AzureBlobClient client(w.transport, w.clock, *w.fs, o);
  w.answer = [](const http::Request&) {
    http::Response r;
    r.status = 403;
    r.body = "<Error><Code>AuthorizationPermissionMismatch</Code></Error>";
    return r;
  };
  EXPECT_TRUE(client.CreateContainerIfMissing().ok());
  auto url = client.ReadSasUrl("w1/Patient-2.ndjson");
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  EXPECT_EQ(*url, "http://h/devstoreaccount1/c/w1/Patient-2.ndjson?sv=2019-12-12&sr=c&sp=racwl&sig=abc");

  AzureBlobOptions none = o;
  none.sas_token.clear();
  AzureBlobClient without(w.transport, w.clock, *w.fs, none);
  EXPECT_FALSE(without.ReadSasUrl("x.ndjson").ok());
}

TEST(AzureBlobTest, ContainerThatExistsIsFineAndOtherErrorsCarryTheStorageCode) {
  World w;
  AzureBlobOptions o;
  o.endpoint = "http://h/devstoreaccount1";
  o.account = "devstoreaccount1";
  o.container = "c";
  o.account_key = kKey;
  AzureBlobClient client(w.transport, w.clock, *w.fs, o);
  w.answer = [](const http::Request&) {
    http::Response r;
    r.status = 409;
    r.body = "<?xml version=\"1.0\"?><Error><Code>ContainerAlreadyExists</Code></Error>";
    return r;
  };
  EXPECT_TRUE(client.CreateContainerIfMissing().ok());
  w.answer = [](const http::Request&) {
    http::Response r;
    r.status = 403;
    r.body = "<Error><Code>AuthorizationFailure</Code><Message>no</Message></Error>";
    return r;
  };
  auto s = client.CreateContainerIfMissing();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("AuthorizationFailure"), std::string::npos) << s.error().message;
}

TEST(AzureBlobTest, ReadSasUrlIsReadOnlyWithExpiry) {
  World w;
  AzureBlobOptions o;
  o.endpoint = "http://h/devstoreaccount1";
  o.account = "devstoreaccount1";
  o.container = "c1";
  o.prefix = "run/";
  o.account_key = kKey;
  o.sas_lifetime = std::chrono::hours(1);
  AzureBlobClient client(w.transport, w.clock, *w.fs, o);
  auto url = client.ReadSasUrl("Patient-1.ndjson");
  ASSERT_TRUE(url.ok());
  std::string expiry = SasTime(w.clock.Now() + std::chrono::hours(1));
  auto sig = SignWithAccountKey(kKey, BlobSasStringToSign("r", expiry, "devstoreaccount1", "c1",
                                                          "run/Patient-1.ndjson", "2019-12-12"));
  EXPECT_EQ(*url, "http://h/devstoreaccount1/c1/run/Patient-1.ndjson?sv=2019-12-12&sr=b&sp=r&se=" +
                      base::UrlEncode(expiry) + "&sig=" + base::UrlEncode(*sig));
}

}  // namespace
}  // namespace fm::stage
