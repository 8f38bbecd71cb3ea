// A small HTTP/1.1 server on POSIX sockets for the operator endpoints: one
// accept thread that serves each connection itself (handlers are short),
// GET/HEAD only, one request per connection (Connection: close).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "base/result.h"

namespace fm::server {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  explicit HttpServer(HttpHandler handler) : handler_(std::move(handler)) {}
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host:port` (IPv4 literal or "localhost"; port 0 picks a free one),
  // then serves on a background thread. Returns the bound "host:port".
  base::Result<std::string> Start(const std::string& listen);
  void Stop();
  int port() const { return port_; }

 private:
  void Serve();
  void HandleConnection(int fd);

  HttpHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Splits "host:port"; "8080" alone means 127.0.0.1:8080.
base::Result<std::pair<std::string, int>> ParseListen(const std::string& listen);

}  // namespace fm::server
