#include "tests/support/loopback_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace fm::test_support {
namespace {

constexpr size_t kMaxHead = 1 << 20;

bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

const std::string* FindIn(const LoopbackHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (SameText(key, name)) return &value;
  }
  return nullptr;
}

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

// Buffered reads from a socket; every method returns false on EOF or error.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  bool ReadHead(std::string& head) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (buf_.size() > kMaxHead || !Fill()) return false;
      // Not a method (e.g. a TLS ClientHello): drop the connection at once.
      if (!std::isupper(static_cast<unsigned char>(buf_.front()))) return false;
    }
    head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    return true;
  }

  bool ReadLine(std::string& line) {
    size_t end;
    while ((end = buf_.find("\r\n")) == std::string::npos) {
      if (buf_.size() > kMaxHead || !Fill()) return false;
    }
    line = buf_.substr(0, end);
    buf_.erase(0, end + 2);
    return true;
  }

  bool ReadExact(size_t n, std::string& out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    out.append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

 private:
  bool Fill() {
    char chunk[16384];
    ssize_t n;
    do {
      n = ::recv(fd_, chunk, sizeof chunk, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buf_;
};

bool ReadChunkedBody(Reader& reader, std::string& body) {
  std::string line;
  while (true) {
    if (!reader.ReadLine(line)) return false;
    size_t size = std::strtoul(line.c_str(), nullptr, 16);
    if (size == 0) break;
    if (!reader.ReadExact(size, body) || !reader.ReadLine(line)) return false;
  }
  do {  // trailers, up to the empty line
    if (!reader.ReadLine(line)) return false;
  } while (!line.empty());
  return true;
}

bool WantsClose(const LoopbackRequest& request, std::string_view version) {
  const std::string* connection = request.header("Connection");
  if (connection && SameText(Trim(*connection), "close")) return true;
  return version == "HTTP/1.0" && !(connection && SameText(Trim(*connection), "keep-alive"));
}

}  // namespace

const std::string* LoopbackRequest::header(std::string_view name) const {
  return FindIn(headers, name);
}

std::string LoopbackRequest::path() const { return target.substr(0, target.find('?')); }

std::string LoopbackRequest::query() const {
  size_t q = target.find('?');
  return q == std::string::npos ? "" : target.substr(q + 1);
}

LoopbackServer::LoopbackServer(LoopbackHandler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("loopback: socket() failed");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("loopback: cannot listen on 127.0.0.1: ") +
                             std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread(&LoopbackServer::AcceptLoop, this);
}

LoopbackServer::~LoopbackServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  char byte = 'x';
  [[maybe_unused]] ssize_t ignored = ::write(wake_pipe_[1], &byte, 1);
  acceptor_.join();
  for (std::thread& worker : workers_) worker.join();  // no new workers after the acceptor
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::string LoopbackServer::url(std::string_view path_and_query) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
}

size_t LoopbackServer::connections_accepted() const {
  std::lock_guard lock(mu_);
  return connections_;
}

size_t LoopbackServer::request_count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

std::vector<LoopbackRequest> LoopbackServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void LoopbackServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.insert(fd);
    int number = static_cast<int>(++connections_);
    workers_.emplace_back(&LoopbackServer::Serve, this, fd, number);
  }
}

void LoopbackServer::Serve(int fd, int connection) {
  Reader reader(fd);
  std::string head;
  while (reader.ReadHead(head)) {
    LoopbackRequest request;
    request.connection = connection;
    size_t line_end = head.find("\r\n");
    std::string_view request_line = std::string_view(head).substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) break;  // not HTTP: drop the connection
    request.method = std::string(request_line.substr(0, sp1));
    request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    std::string_view version = request_line.substr(sp2 + 1);
    if (!version.starts_with("HTTP/1.")) break;
    std::string_view rest =
        line_end == std::string::npos ? "" : std::string_view(head).substr(line_end + 2);
    while (!rest.empty()) {
      size_t end = rest.find("\r\n");
      std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      request.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                   std::string(Trim(line.substr(colon + 1))));
    }
    const std::string* expect = request.header("Expect");
    if (expect && SameText(*expect, "100-continue") &&
        !WriteAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
      break;
    }
    const std::string* encoding = request.header("Transfer-Encoding");
    const std::string* length = request.header("Content-Length");
    bool ok = true;
    if (encoding && SameText(Trim(*encoding), "chunked")) {
      ok = ReadChunkedBody(reader, request.body);
    } else if (length) {
      ok = reader.ReadExact(std::strtoul(length->c_str(), nullptr, 10), request.body);
    }
    if (!ok) break;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    LoopbackResponse response = handler_(request);
    if (!WriteResponse(fd, request, response) || WantsClose(request, version)) break;
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
}

bool LoopbackServer::WriteResponse(int fd, const LoopbackRequest& request,
                                   const LoopbackResponse& response) {
  if (response.raw) {
    WriteAll(fd, *response.raw);
    return false;
  }
  if (!Pause(response.delay_before_headers)) return false;
  std::string head =
      "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (response.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (!FindIn(response.headers, "Content-Length")) {
    head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  if (response.close) head += "Connection: close\r\n";
  head += "\r\n";
  if (!WriteAll(fd, head)) return false;
  bool has_body = request.method != "HEAD" && response.status >= 200 && response.status != 204 &&
                  response.status != 304;
  if (!has_body) return !response.close;
  std::string_view body = response.body;
  size_t limit = std::min(response.close_after_body_bytes.value_or(body.size()), body.size());
  size_t piece = response.write_size > 0 ? response.write_size : std::max<size_t>(body.size(), 1);
  for (size_t sent = 0; sent < limit;) {
    size_t n = std::min(piece, limit - sent);
    std::string_view data = body.substr(sent, n);
    if (sent > 0 && sent + n == limit && response.before_last_write) response.before_last_write();
    bool written = response.chunked
                       ? WriteAll(fd,
                                  [&] {
                                    char size_line[32];
                                    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
                                    return std::string(size_line) + std::string(data) + "\r\n";
                                  }())
                       : WriteAll(fd, data);
    if (!written) return false;
    sent += n;
    if (sent < limit && !Pause(response.delay_between_writes)) return false;
  }
  if (response.close_after_body_bytes) return false;  // cut short on purpose
  if (response.chunked && !WriteAll(fd, "0\r\n\r\n")) return false;
  return !response.close;
}

bool LoopbackServer::WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool LoopbackServer::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  if (d.count() <= 0) return !stopping_;
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

std::string GzipCompress(std::string_view data) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("loopback: deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("loopback: deflate failed");
  return out;
}

}  // namespace fm::test_support
