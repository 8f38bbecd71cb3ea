#include "base/result.h"

namespace fm::base {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransient: return "transient";
    case ErrorKind::kRateLimited: return "rate-limited";
    case ErrorKind::kUnauthorized: return "unauthorized";
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kInvalidData: return "invalid-data";
    case ErrorKind::kFatal: return "fatal";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kUnreachable:
      return "unreachable";
    case ErrorKind::kConfig:
      return "config";
    case ErrorKind::kOtherMigration:
      return "other-migration";
    case ErrorKind::kStorage:
      return "storage";
    case ErrorKind::kLocked:
      return "locked";
    case ErrorKind::kHalted:
      return "halted";
  }
  return "unknown";
}

bool IsRetryable(ErrorKind kind) {
  return kind == ErrorKind::kTransient || kind == ErrorKind::kRateLimited ||
         kind == ErrorKind::kUnreachable;
}

std::string Error::ToString() const {
  std::string out = ErrorKindName(kind);
  out += ": ";
  out += message;
  return out;
}

Error MakeError(ErrorKind kind, std::string message, int http_status) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.http_status = http_status;
  return e;
}

}  // namespace fm::base
