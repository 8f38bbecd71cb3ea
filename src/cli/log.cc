#include "cli/log.h"

#include "base/strings.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace fm::cli {

std::string JsonEscape(const std::string& text) { return base::JsonEscape(text); }

struct Log::Impl {
  std::shared_ptr<spdlog::logger> logger;
  bool json = false;
  std::function<void()> before, after;
};

namespace {
spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}
}  // namespace

Log::Log(const std::string& format, const std::string& level) : impl_(std::make_unique<Impl>()) {
  impl_->logger = std::make_shared<spdlog::logger>(
      "fhir-migrate", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  impl_->json = format == "json";
  if (impl_->json) {
    impl_->logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                               spdlog::pattern_time_type::utc);
  } else {
    impl_->logger->set_pattern("%Y-%m-%dT%H:%M:%SZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  impl_->logger->set_level(spdlog::level::from_str(level));
  impl_->logger->flush_on(spdlog::level::trace);
}

Log::~Log() = default;

void Log::SetWriteHooks(std::function<void()> before, std::function<void()> after) {
  impl_->before = std::move(before);
  impl_->after = std::move(after);
}

void Log::Write(LogLevel level, const std::string& message, const std::string& window,
                const std::string& job) {
  if (!impl_->logger->should_log(ToSpd(level))) return;
  if (impl_->before) impl_->before();
  // Defence in depth: no credential in a URL (user:password@, a query
  // parameter) reaches the log.
  std::string text = base::RedactUrlsIn(message);
  if (impl_->json) {
    std::string body = R"("msg":")" + JsonEscape(text) + "\"";
    if (!window.empty()) body += R"(,"window":")" + JsonEscape(window) + "\"";
    if (!job.empty()) body += R"(,"job":")" + JsonEscape(job) + "\"";
    impl_->logger->log(ToSpd(level), "{}", body);
  } else {
    std::string prefix;
    if (!window.empty()) prefix += "[window " + window + "] ";
    if (!job.empty()) prefix += "[job " + job + "] ";
    impl_->logger->log(ToSpd(level), "{}{}", prefix, text);
  }
  if (impl_->after) impl_->after();
}

}  // namespace fm::cli
