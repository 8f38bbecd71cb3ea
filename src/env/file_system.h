// Files behind a port so tests can fake them and crash tests can wrap them.
// Every file the tool creates is readable by its owner only (0600, dirs 0700):
// staged NDJSON holds patient data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace fm::env {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual base::Status Append(std::string_view data) = 0;
  virtual base::Status Sync() = 0;  // fdatasync
  virtual base::Status Close() = 0;
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to n bytes; 0 at end of file.
  virtual base::Result<size_t> Read(char* buf, size_t n) = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // mkdir -p with mode 0700 for every directory it creates.
  virtual base::Status CreateDirs(const std::string& path) = 0;
  // Creates or truncates (append=false) or appends (append=true); mode 0600.
  virtual base::Result<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path,
                                                                   bool append) = 0;
  virtual base::Result<std::unique_ptr<ReadableFile>> OpenForRead(const std::string& path) = 0;
  virtual base::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual base::Status Remove(const std::string& path) = 0;  // missing is fine
  virtual bool Exists(const std::string& path) = 0;
  virtual base::Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual base::Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual base::Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Permission bits (e.g. 0600) of an existing path.
  virtual base::Result<uint32_t> Mode(const std::string& path) = 0;
};

std::unique_ptr<FileSystem> NewPosixFileSystem();

// Reads a whole (small) file: configs, keys, manifests. Not for NDJSON.
base::Result<std::string> ReadSmallFile(FileSystem& fs, const std::string& path,
                                        size_t max_bytes = 16 << 20);
// Writes via a temp file, fsync and rename, so readers never see half a file.
base::Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data);

}  // namespace fm::env
