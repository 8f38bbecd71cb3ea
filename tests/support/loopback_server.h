// A small threaded HTTP/1.1 server on 127.0.0.1 for tests of real transports.
//
// Binds 127.0.0.1 on a kernel-chosen port (never another interface), serves
// each connection on its own thread with keep-alive, and can misbehave on
// request: chunked or slow bodies, a delay before the headers, a connection
// closed in mid-body, or raw bytes. The destructor stops everything promptly,
// even a response that is sleeping.
//
//   LoopbackServer server([](const LoopbackRequest& r) {
//     return LoopbackResponse{.status = 200, .body = "hello " + r.target};
//   });
//   transport->Send({.url = server.url("/Patient?_count=1")});
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace fm::test_support {

using LoopbackHeaders = std::vector<std::pair<std::string, std::string>>;

struct LoopbackRequest {
  std::string method;
  std::string target;  // path and query, as sent: "/fhir/Patient?_count=10"
  LoopbackHeaders headers;
  std::string body;    // de-chunked
  int connection = 0;  // 1-based number of the TCP connection that carried it

  // Case-insensitive; nullptr when absent.
  const std::string* header(std::string_view name) const;
  std::string path() const;   // target before '?'
  std::string query() const;  // target after '?', "" when none
};

struct LoopbackResponse {
  int status = 200;
  LoopbackHeaders headers;  // Content-Length / Transfer-Encoding are added
  std::string body;

  // Delivery shaping for fault tests.
  bool chunked = false;   // Transfer-Encoding: chunked instead of Content-Length
  size_t write_size = 0;  // >0: write the body in pieces this big (one chunk each when chunked)
  std::chrono::milliseconds delay_before_headers{0};
  std::chrono::milliseconds delay_between_writes{0};
  // Called on the connection thread just before the last piece of a body
  // written in several pieces (write_size): a test holds the end of the body
  // back until the client has shown what it received so far.
  std::function<void()> before_last_write;
  // Write only this many body bytes, then close the connection (the headers
  // still announce the whole body).
  std::optional<size_t> close_after_body_bytes;
  bool close = false;  // "Connection: close" and close after this response
  // When set, these bytes are written verbatim instead of a formatted
  // response, and the connection is closed afterwards.
  std::optional<std::string> raw;
};

// Called on connection threads, possibly concurrently: must be thread-safe.
using LoopbackHandler = std::function<LoopbackResponse(const LoopbackRequest&)>;

class LoopbackServer {
 public:
  explicit LoopbackServer(LoopbackHandler handler);
  ~LoopbackServer();  // stops accepting, closes connections, joins threads
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>" + path_and_query.
  std::string url(std::string_view path_and_query = "/") const;

  size_t connections_accepted() const;
  size_t request_count() const;                   // requests received so far
  std::vector<LoopbackRequest> requests() const;  // every request so far, in arrival order

 private:
  void AcceptLoop();
  void Serve(int fd, int connection);
  bool WriteResponse(int fd, const LoopbackRequest& request, const LoopbackResponse& response);
  bool WriteAll(int fd, std::string_view data);
  bool Pause(std::chrono::milliseconds d);  // false when the server is stopping

  LoopbackHandler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::set<int> open_fds_;
  std::vector<std::thread> workers_;
  size_t connections_ = 0;
  std::vector<LoopbackRequest> requests_;
};

// gzip-encodes `data` (for Content-Encoding: gzip responses).
std::string GzipCompress(std::string_view data);

}  // namespace fm::test_support
