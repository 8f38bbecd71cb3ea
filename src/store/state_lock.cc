#include "store/state_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/strings.h"

namespace fm::store {
namespace {

using base::ErrorKind;
using base::MakeError;

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

base::Error IoError(const std::string& what, const std::string& path, int err) {
  return MakeError(ErrorKind::kStorage,
                   what + " " + path + ": " + std::strerror(err) +
                       " (keep the state file on a local disk the user can write)");
}

// An open file description lock (F_OFD_SETLK) on the whole file: owned by
// this open file, not by the process, so no other descriptor of the process
// can drop it by closing the same file, and released by the kernel when the
// descriptor is closed, also when the process is killed.
struct flock WholeFile(short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  return fl;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  off_t at = 0;
  while (out.size() < (64u << 10)) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return out;
}

class FileLock : public StateLock {
 public:
  FileLock(int fd, std::optional<LockHolder> previous) : fd_(fd), previous_(std::move(previous)) {}
  ~FileLock() override {
    // A clean release leaves an empty record: a record found by the next
    // holder means its writer ended without releasing (kill -9, a crash).
    if (::ftruncate(fd_, 0) != 0) {
      // Nothing to do: the next writer then reports this process as ended.
    }
    ::close(fd_);  // releases the lock
  }
  const std::optional<LockHolder>& previous() const override { return previous_; }

 private:
  int fd_;
  std::optional<LockHolder> previous_;
};

base::Error Held(const std::string& state_path, const std::string& record) {
  std::string who = "another process (it has not recorded who it is yet)";
  if (!base::Trim(record).empty()) {
    LockHolder holder = ParseLockHolder(record);
    who = "another fhir-migrate: " + holder.Describe();
  }
  return MakeError(ErrorKind::kLocked,
                   "state file " + state_path + " is in use by " + who +
                       "; wait for it to finish or stop it (SIGTERM) first, or use another "
                       "state file (state.path)");
}

}  // namespace

std::string LockHolder::Describe() const {
  std::string out = "pid " + std::to_string(pid) + " on host " + (host.empty() ? "?" : host);
  if (started) out += ", started " + base::FormatInstant(*started);
  if (!command.empty()) out += ": " + command;
  return out;
}

std::string FormatLockHolder(const LockHolder& h) {
  std::string out = "host=" + OneLine(h.host) + "\npid=" + std::to_string(h.pid) + "\n";
  if (h.started) out += "started=" + base::FormatInstant(*h.started) + "\n";
  out += "command=" + OneLine(base::RedactUrlsIn(h.command)) + "\n";
  return out;
}

LockHolder ParseLockHolder(const std::string& text) {
  LockHolder h;
  for (std::string_view line : base::Split(text, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host") {
      h.host = std::string(value);
    } else if (key == "pid") {
      h.pid = std::strtoll(std::string(value).c_str(), nullptr, 10);
    } else if (key == "started") {
      if (auto t = base::ParseInstant(value); t.ok()) h.started = *t;
    } else if (key == "command") {
      h.command = std::string(value);
    }
  }
  return h;
}

std::string LockPathFor(const std::string& state_path) { return state_path + ".lock"; }

base::Result<std::unique_ptr<StateLock>> AcquireStateLock(const std::string& state_path,
                                                          const LockHolder& me) {
  const std::string path = LockPathFor(state_path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create the lock file", path, errno);
  struct flock fl = WholeFile(F_WRLCK);
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    int err = errno;
    if (err == EAGAIN || err == EACCES) {
      std::string record = ReadAll(fd);
      ::close(fd);
      return Held(state_path, record);
    }
    ::close(fd);
    return IoError("cannot lock", path, err);
  }
  std::optional<LockHolder> previous;
  std::string record = ReadAll(fd);
  if (!base::Trim(record).empty()) previous = ParseLockHolder(record);
  std::string mine = FormatLockHolder(me);
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, mine.data(), mine.size(), 0) != static_cast<ssize_t>(mine.size())) {
    int err = errno;
    ::close(fd);
    return IoError("cannot write", path, err);
  }
  (void)::fdatasync(fd);
  return std::unique_ptr<StateLock>(std::make_unique<FileLock>(fd, std::move(previous)));
}

base::Result<std::optional<LockHolder>> CurrentLockHolder(const std::string& state_path) {
  const std::string path = LockPathFor(state_path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<LockHolder>();
    return IoError("cannot open", path, errno);
  }
  struct flock fl = WholeFile(F_WRLCK);
  int rc = ::fcntl(fd, F_OFD_GETLK, &fl);
  int err = errno;
  std::string record = rc == 0 && fl.l_type != F_UNLCK ? ReadAll(fd) : "";
  ::close(fd);
  if (rc != 0) return IoError("cannot query the lock", path, err);
  if (fl.l_type == F_UNLCK) return std::optional<LockHolder>();
  return std::optional<LockHolder>(ParseLockHolder(record));
}

}  // namespace fm::store
