#include "stage/file_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "http/transport.h"

namespace fm::stage {
namespace {

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/fm_fs_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

http::Response Get(http::Transport& t, const std::string& url, const std::string& range = "",
                   const std::string& method = "GET") {
  http::Request r;
  r.method = method;
  r.url = url;
  r.accept_gzip = false;
  if (!range.empty()) http::SetHeader(r.headers, "Range", range);
  auto resp = t.Send(r);
  EXPECT_TRUE(resp.ok()) << resp.error().ToString();
  return resp.ok() ? *resp : http::Response{};
}

TEST(FileServerTest, ServesRegisteredFilesUnderUnguessablePathsOnly) {
  auto server = FileServer::Start({});
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  auto transport = http::NewCurlTransport({});
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "{\"resourceType\":\"Patient\",\"id\":\"" + std::to_string(i) + "\"}\n";
  std::string path = WriteTemp("Patient-1.ndjson", content);
  std::string url = (*server)->Register(path);
  EXPECT_EQ(url.rfind((*server)->base_url() + "/f/", 0), 0u) << url;
  EXPECT_NE(url.find("Patient-1.ndjson"), std::string::npos);
  std::string token = url.substr((*server)->base_url().size() + 3, 64);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;

  auto whole = Get(*transport, url);
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, content);
  EXPECT_EQ(*http::FindHeader(whole.headers, "Accept-Ranges"), "bytes");

  auto part = Get(*transport, url, "bytes=10-19");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, content.substr(10, 10));
  EXPECT_EQ(*http::FindHeader(part.headers, "Content-Range"),
            "bytes 10-19/" + std::to_string(content.size()));
  auto tail = Get(*transport, url, "bytes=-5");
  EXPECT_EQ(tail.body, content.substr(content.size() - 5));
  auto open = Get(*transport, url, "bytes=" + std::to_string(content.size() - 3) + "-");
  EXPECT_EQ(open.body, content.substr(content.size() - 3));
  EXPECT_EQ(Get(*transport, url, "bytes=999999999-").status, 416);
  auto head = Get(*transport, url, "", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());

  // Anything else is 404: another token, the directory, a prefix.
  EXPECT_EQ(Get(*transport, (*server)->base_url() + "/f/" + std::string(64, 'a') + "/Patient-1.ndjson").status, 404);
  EXPECT_EQ(Get(*transport, (*server)->base_url() + "/f/" + token).status, 404);
  EXPECT_EQ(Get(*transport, (*server)->base_url() + "/").status, 404);
  EXPECT_EQ(Get(*transport, (*server)->base_url() + path).status, 404);
  (*server)->Unregister(url);
  EXPECT_EQ(Get(*transport, url).status, 404);
  std::remove(path.c_str());
}

TEST(FileServerTest, TokensDifferAndRangesParse) {
  EXPECT_NE(RandomToken(), RandomToken());
  EXPECT_EQ(RandomToken().size(), 64u);
  uint64_t a = 0, b = 0;
  bool bad = false;
  EXPECT_TRUE(ParseByteRange("bytes=0-0", 10, a, b, bad));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 0u);
  EXPECT_TRUE(ParseByteRange("bytes=5-100", 10, a, b, bad));
  EXPECT_EQ(b, 9u);
  EXPECT_FALSE(bad);
  EXPECT_TRUE(ParseByteRange("bytes=10-", 10, a, b, bad));
  EXPECT_TRUE(bad);
  EXPECT_FALSE(ParseByteRange("bytes=0-1,3-4", 10, a, b, bad));
  EXPECT_FALSE(ParseByteRange("items=0-1", 10, a, b, bad));
  EXPECT_FALSE(ParseByteRange("bytes=5-2", 10, a, b, bad));
}

TEST(FileServerTest, ABadBindAddressIsAClearError) {
  FileServerOptions o;
  o.bind_address = "not-an-ip";
  auto server = FileServer::Start(o);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message.find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace fm::stage
