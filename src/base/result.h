// Errors as values. Every fallible operation returns Result<T>; the ErrorKind
// decides whether a caller retries (transient, rate-limited, unreachable) or
// gives up, and which exit code the CLI ends with (cli::ExitCodeFor, a switch
// on the kind; docs/errors.md). The kind is set where an error is created or
// translated, never guessed from the message.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace fm::base {

enum class ErrorKind {
  kTransient,       // network hiccup, 5xx: retry with backoff
  kRateLimited,     // 429 or throttling: retry after the server's delay
  kUnauthorized,    // 401/403: credentials are wrong or expired
  kNotFound,        // 404/410: the thing is gone
  kConflict,        // 409/412/423: the server refuses because of its state
  kInvalidData,     // malformed JSON, unexpected shape, 4xx validation
  kFatal,           // a bug or an unclassified failure: stop
  kCancelled,       // the operator asked us to stop
  kUnreachable,     // DNS, connection refused, timeout, TLS; or no FHIR server at the URL
  kConfig,          // bad command line or configuration (the message names the key)
  kOtherMigration,  // the state file belongs to a migration between other servers
  kStorage,         // the state file or the staging directory cannot be read or written
  kLocked,          // another process holds the state file
  kHalted,          // the migration is halted (a window failed max_attempts times)
};

// Every kind, in declaration order (tests check each has an exit code).
inline constexpr ErrorKind kAllErrorKinds[] = {
    ErrorKind::kTransient, ErrorKind::kRateLimited,    ErrorKind::kUnauthorized,
    ErrorKind::kNotFound,  ErrorKind::kConflict,       ErrorKind::kInvalidData,
    ErrorKind::kFatal,     ErrorKind::kCancelled,      ErrorKind::kUnreachable,
    ErrorKind::kConfig,    ErrorKind::kOtherMigration, ErrorKind::kStorage,
    ErrorKind::kLocked,    ErrorKind::kHalted,
};

// The kind's name as docs/errors.md and the state store write it ("storage").
const char* ErrorKindName(ErrorKind kind);

// True for the kinds a retry policy may retry: transient, rate-limited and
// unreachable (a server that is down for a moment).
bool IsRetryable(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kFatal;
  std::string message;
  int http_status = 0;                                  // 0 when not from HTTP
  std::optional<std::chrono::milliseconds> retry_after;  // server-requested delay

  // "<kind>: <message>" for logs and the state store. Never holds secrets.
  std::string ToString() const;
};

Error MakeError(ErrorKind kind, std::string message, int http_status = 0);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // By value, so `for (auto& x : *f())` does not dangle.
  T operator*() && { return std::move(*this).value(); }

  // REQUIRES: !ok().
  const Error& error() const { return std::get<1>(v_); }
  Error& error() { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }
  Error& error() { return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace fm::base

// Propagates an error from an expression returning Result<...>.
#define FM_TRY_STATUS(expr)                        \
  do {                                             \
    auto fm_try_status_ = (expr);                  \
    if (!fm_try_status_.ok()) {                    \
      return std::move(fm_try_status_.error());    \
    }                                              \
  } while (false)

#define FM_CONCAT_INNER_(a, b) a##b
#define FM_CONCAT_(a, b) FM_CONCAT_INNER_(a, b)
#define FM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) {                                \
    return std::move(tmp.error());                \
  }                                               \
  lhs = std::move(tmp).value()
// FM_ASSIGN_OR_RETURN(auto x, Foo()); declares x or returns Foo()'s error.
#define FM_ASSIGN_OR_RETURN(lhs, expr) \
  FM_ASSIGN_OR_RETURN_IMPL_(FM_CONCAT_(fm_result_, __LINE__), lhs, expr)
