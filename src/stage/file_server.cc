#include "stage/file_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"

namespace fm::stage {
namespace {

constexpr size_t kMaxHeaderBytes = 16 << 10;
constexpr int kIdleTimeoutMs = 30000;
constexpr size_t kPiece = 64 << 10;

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool WriteAll(int fd, const std::string& s) { return WriteAll(fd, s.data(), s.size()); }

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 416: return "Range Not Satisfiable";
    default: return "Internal Server Error";
  }
}

}  // namespace

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::fputs("fatal: RAND_bytes failed\n", stderr);
    std::abort();
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool ParseByteRange(const std::string& header, uint64_t size, uint64_t& first, uint64_t& last,
                    bool& unsatisfiable) {
  unsatisfiable = false;
  std::string h(base::Trim(header));
  if (!base::StartsWith(h, "bytes=") || h.find(',') != std::string::npos) return false;
  std::string spec = h.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string::npos) return false;
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 19;
  };
  if (a.empty()) {
    if (!digits(b)) return false;
    uint64_t n = std::stoull(b);
    if (n == 0 || size == 0) {
      unsatisfiable = true;
      return true;
    }
    first = n >= size ? 0 : size - n;
    last = size - 1;
    return true;
  }
  if (!digits(a) || (!b.empty() && !digits(b))) return false;
  first = std::stoull(a);
  last = b.empty() ? (size == 0 ? 0 : size - 1) : std::stoull(b);
  if (!b.empty() && last < first) return false;
  if (first >= size) {
    unsatisfiable = true;
    return true;
  }
  if (last >= size) last = size - 1;
  return true;
}

base::Result<std::unique_ptr<FileServer>> FileServer::Start(FileServerOptions options) {
  std::unique_ptr<FileServer> server(new FileServer(std::move(options)));
  FM_TRY_STATUS(server->Listen());
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

base::Status FileServer::Listen() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.bind_address.c_str(), &addr.sin_addr) != 1) {
    return base::MakeError(base::ErrorKind::kFatal,
                           "file server: bind address \"" + options_.bind_address +
                               "\" is not an IPv4 address");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    std::string why = std::strerror(errno);
    return base::MakeError(base::ErrorKind::kFatal, "file server: cannot listen on " +
                                                        options_.bind_address + ":" +
                                                        std::to_string(options_.port) + ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    return base::MakeError(base::ErrorKind::kFatal, "file server: pipe failed");
  }
  return base::Ok();
}

FileServer::~FileServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  if (wake_pipe_[1] >= 0) {
    char c = 'x';
    [[maybe_unused]] auto w = ::write(wake_pipe_[1], &c, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string FileServer::base_url() const {
  if (!options_.public_base_url.empty()) {
    std::string b = options_.public_base_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  return "http://" + options_.bind_address + ":" + std::to_string(port_);
}

std::string FileServer::Register(const std::string& local_path) {
  std::string path = "/f/" + RandomToken() + "/" + base::UrlEncode(Basename(local_path));
  std::lock_guard<std::mutex> lock(mu_);
  files_[path] = local_path;
  return base_url() + path;
}

void FileServer::Unregister(const std::string& url) {
  std::string base = base_url();
  std::string path = base::StartsWith(url, base) ? url.substr(base.size()) : url;
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
}

std::string FileServer::Lookup(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? "" : it->second;
}

void FileServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int>(open_fds_.size()) >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FileServer::Serve(int fd) {
  std::string buf;
  char tmp[8192];
  for (;;) {
    // Read one request head.
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > kMaxHeaderBytes) goto done;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, kIdleTimeoutMs) <= 0) goto done;
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) goto done;
      buf.append(tmp, static_cast<size_t>(n));
    }
    {
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      auto lines = base::Split(head, '\n');
      auto parts = base::Split(base::Trim(lines[0]), ' ');
      std::string method = parts.size() > 0 ? std::string(parts[0]) : "";
      std::string target = parts.size() > 1 ? std::string(parts[1]) : "";
      std::string range;
      bool close = false;
      for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view line = base::Trim(lines[i]);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name = base::ToLower(line.substr(0, colon));
        std::string value(base::Trim(line.substr(colon + 1)));
        if (name == "range") range = value;
        if (name == "connection" && base::EqualsIgnoreCase(value, "close")) close = true;
        if (name == "content-length" && value != "0") close = true;  // no bodies expected
      }
      requests_++;
      size_t q = target.find('?');
      std::string path = q == std::string::npos ? target : target.substr(0, q);
      std::string local = Lookup(path);
      auto simple = [&](int status) {
        std::string body = Reason(status) + "\n";
        std::string r = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                        "\r\nContent-Type: text/plain\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n" +
                        (close ? "Connection: close\r\n" : "") + "\r\n" +
                        (method == "HEAD" ? "" : body);
        return WriteAll(fd, r);
      };
      if (method != "GET" && method != "HEAD") {
        close = true;
        simple(405);
        goto done;
      }
      int file = local.empty() ? -1 : ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (file < 0 || ::fstat(file, &st) != 0) {
        if (file >= 0) ::close(file);
        if (!simple(404) || close) goto done;
        continue;
      }
      uint64_t size = static_cast<uint64_t>(st.st_size);
      uint64_t first = 0, last = size == 0 ? 0 : size - 1;
      bool unsatisfiable = false;
      bool partial = !range.empty() && ParseByteRange(range, size, first, last, unsatisfiable);
      if (partial && unsatisfiable) {
        ::close(file);
        std::string r = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
                        std::to_string(size) + "\r\nContent-Length: 0\r\n\r\n";
        if (!WriteAll(fd, r) || close) goto done;
        continue;
      }
      uint64_t length = size == 0 ? 0 : last - first + 1;
      std::string r = std::string("HTTP/1.1 ") + (partial ? "206 Partial Content" : "200 OK") +
                      "\r\nContent-Type: application/fhir+ndjson\r\nAccept-Ranges: bytes\r\n"
                      "Cache-Control: no-store\r\nContent-Length: " +
                      std::to_string(length) + "\r\n";
      if (partial) {
        r += "Content-Range: bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
             std::to_string(size) + "\r\n";
      }
      if (close) r += "Connection: close\r\n";
      r += "\r\n";
      bool ok = WriteAll(fd, r);
      if (ok && method == "GET") {
        std::string piece(kPiece, '\0');
        uint64_t off = first, left = length;
        while (ok && left > 0) {
          ssize_t n = ::pread(file, piece.data(), std::min<uint64_t>(kPiece, left), static_cast<off_t>(off));
          if (n <= 0) {
            ok = false;  // file shrank: drop the connection, the client sees a short body
            break;
          }
          ok = WriteAll(fd, piece.data(), static_cast<size_t>(n));
          off += static_cast<uint64_t>(n);
          left -= static_cast<uint64_t>(n);
        }
      }
      ::close(file);
      if (!ok || close) goto done;
    }
  }
done:
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(fd);
  ::close(fd);
}

}  // namespace fm::stage
