// One writer per state file: a process that writes a migration (`run`,
// `retry`, `clear-halt`, `failures retry`, `verify --fix*`) holds an
// exclusive lock on `<state file>.lock` for as long as it lives. The kernel
// releases it when the process ends, however it ends (kill -9 included), so a
// lock is never stale while held and never held once its process is gone;
// the file itself only records who holds it, for the message that refuses a
// second writer. Readers (`status`, `failures list`, read-only `verify`)
// take no lock. See docs/state-store.md, "One writer per state file".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/time.h"

namespace fm::store {

// Who holds (or last held) a state file's lock.
struct LockHolder {
  std::string host;
  int64_t pid = 0;
  std::optional<base::Instant> started;
  std::string command;  // the command line, URLs redacted, one line

  // "pid 123 on host h, started 2024-05-01T10:00:00.000Z: fhir-migrate run".
  std::string Describe() const;
};

// The record as written in the lock file, and read back (unknown lines are
// ignored, a missing field stays empty).
std::string FormatLockHolder(const LockHolder& holder);
LockHolder ParseLockHolder(const std::string& text);

class StateLock {
 public:
  virtual ~StateLock() = default;  // releases the lock
  // The record the previous holder left, when it ended without releasing
  // cleanly (killed, crashed): its lock is gone, this process took over.
  virtual const std::optional<LockHolder>& previous() const = 0;
};

// The lock file of a state file: "<state_path>.lock".
std::string LockPathFor(const std::string& state_path);

// Takes the lock of `state_path` without waiting and records `me` in the lock
// file (created 0600). Fails with kLocked, naming the holder, when another
// process holds it; with kStorage when the lock file cannot be created or the
// file system cannot lock it.
base::Result<std::unique_ptr<StateLock>> AcquireStateLock(const std::string& state_path,
                                                          const LockHolder& me);

// The holder when a process holds the lock now; nullopt when none does. Never
// takes the lock, so it cannot get in a starting writer's way.
base::Result<std::optional<LockHolder>> CurrentLockHolder(const std::string& state_path);

}  // namespace fm::store
