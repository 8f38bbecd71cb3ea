// Serves staged NDJSON files over plain HTTP so a destination's `$import` can
// pull them from fhir-migrate itself (staging backend `local` + `serve`).
//
// Each registered file gets an unguessable path /f/<64 hex chars>/<name>
// (32 bytes from OpenSSL RAND_bytes); every other path is 404. GET and HEAD,
// single byte ranges (206, 416), keep-alive, bodies streamed from disk in
// 64 KiB pieces. POSIX sockets, one thread per connection. The files hold
// patient data: bind loopback or a private interface, and put TLS in front
// (a reverse proxy) when the destination is remote.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"

namespace fm::stage {

struct FileServerOptions {
  std::string bind_address = "127.0.0.1";  // IPv4 literal
  int port = 0;                             // 0: kernel-chosen
  // URL the destination uses to reach this server ("http://10.0.0.5:8080");
  // empty: http://<bind_address>:<port>.
  std::string public_base_url;
  int max_connections = 64;
};

class FileServer {
 public:
  static base::Result<std::unique_ptr<FileServer>> Start(FileServerOptions options);
  ~FileServer();  // stops accepting, closes connections, joins threads
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;

  // Makes `local_path` downloadable; returns its absolute URL. The file is
  // opened per request, so it must stay in place while registered.
  std::string Register(const std::string& local_path);
  // Forgets a URL returned by Register (later requests get 404).
  void Unregister(const std::string& url);

  uint64_t requests_served() const { return requests_.load(); }

 private:
  explicit FileServer(FileServerOptions options) : options_(std::move(options)) {}
  base::Status Listen();
  void AcceptLoop();
  void Serve(int fd);
  std::string Lookup(const std::string& path) const;  // local path or ""

  FileServerOptions options_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<uint64_t> requests_{0};

  mutable std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, std::string> files_;  // "/f/<token>/<name>" → local path
  std::set<int> open_fds_;
  std::vector<std::thread> workers_;
};

// 64 lower-case hex characters from 32 random bytes.
std::string RandomToken();

// Parses a Range header against a file size: "bytes=a-b", "bytes=a-",
// "bytes=-n". Returns false for anything else (serve the whole file);
// sets `unsatisfiable` when the range lies outside the file.
bool ParseByteRange(const std::string& header, uint64_t size, uint64_t& first, uint64_t& last,
                    bool& unsatisfiable);

}  // namespace fm::stage
