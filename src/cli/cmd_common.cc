#include <unistd.h>

#include <climits>
#include <cstdio>

#include "base/strings.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "env/clock.h"

namespace fm::cli {

int ExitCodeFor(const base::Error& error) {
  using base::ErrorKind;
  switch (error.kind) {
    case ErrorKind::kCancelled:
      return kExitOk;
    case ErrorKind::kConfig:
    case ErrorKind::kOtherMigration:
      return kExitUsage;
    case ErrorKind::kUnreachable:
      return kExitUnreachable;
    case ErrorKind::kUnauthorized:
      return kExitUnauthorized;
    case ErrorKind::kHalted:
      return kExitHalted;
    case ErrorKind::kStorage:
      return kExitState;
    case ErrorKind::kLocked:
      return kExitLocked;
    case ErrorKind::kTransient:
    case ErrorKind::kRateLimited:
    case ErrorKind::kNotFound:
    case ErrorKind::kConflict:
    case ErrorKind::kInvalidData:
    case ErrorKind::kFatal:
      return kExitFailure;
  }
  return kExitFailure;
}

int Report(const std::string& what, const base::Error& error) {
  int code = ExitCodeFor(error);
  std::string hint;
  switch (code) {
    case kExitUnreachable:
      hint = " — check the URL, that the server is up, DNS, proxies and certificates";
      break;
    case kExitUnauthorized:
      hint = " — check the credentials configured for that server and their permissions";
      break;
    case kExitState:
      hint = " — check the disk space and permissions of the state file and staging directory";
      break;
    default:
      break;
  }
  // Messages may quote URLs; none reaches the terminal with credentials.
  std::fprintf(stderr, "fhir-migrate: %s: %s%s\n", base::RedactUrlsIn(what).c_str(),
               base::RedactUrlsIn(error.message).c_str(), hint.c_str());
  return code;
}

base::Result<std::unique_ptr<store::StateLock>> LockStateFile(const Config& config,
                                                              const Context& ctx) {
  store::LockHolder me;
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) == 0) me.host = host;
  me.pid = ::getpid();
  me.started = env::NewSystemClock()->Now();
  me.command = ctx.command_line;
  return store::AcquireStateLock(config.state_path, me);
}

std::optional<Config> LoadConfigOrReport(const ConfigSources& sources) {
  auto config = LoadConfig(sources);
  if (!config.ok()) {
    std::fprintf(stderr, "fhir-migrate: configuration: %s\n", config.error().message.c_str());
    return std::nullopt;
  }
  return std::move(*config);
}

}  // namespace fm::cli
