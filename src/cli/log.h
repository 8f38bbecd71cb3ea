// Logging at the edge: human-readable text or JSON lines on stderr. Messages
// carry ids, counts, URLs with secrets redacted, never tokens or resource bodies.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace fm::cli {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

class Log {
 public:
  // `format` is "text" or "json"; `level` one of trace..error.
  Log(const std::string& format, const std::string& level);
  ~Log();
  // `window` and `job` label the line ("window":"#3 ...","job":"7" in JSON).
  void Write(LogLevel level, const std::string& message, const std::string& window = "",
             const std::string& job = "");
  // Called around every line written (e.g. to lift terminal progress bars).
  void SetWriteHooks(std::function<void()> before, std::function<void()> after);
  void Info(const std::string& m) { Write(LogLevel::kInfo, m); }
  void Warn(const std::string& m) { Write(LogLevel::kWarn, m); }
  void Error(const std::string& m) { Write(LogLevel::kError, m); }
  void Debug(const std::string& m) { Write(LogLevel::kDebug, m); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string JsonEscape(const std::string& text);

}  // namespace fm::cli
