#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "migrate/runner.h"

namespace fm::cli {

int ExitCodeFor(const base::Error& error) {
  const std::string& m = error.message;
  if (m.find(migrate::kHaltedPrefix) != std::string::npos) return kExitHalted;
  if (m.rfind(migrate::kOtherMigrationPrefix, 0) == 0) return kExitUsage;
  if (error.kind == base::ErrorKind::kUnauthorized) return kExitUnauthorized;
  if (error.http_status == 0 &&
      (m.find("cannot resolve") != std::string::npos ||
       m.find("cannot connect") != std::string::npos || m.find("TLS") != std::string::npos ||
       m.find("timed out") != std::string::npos)) {
    return kExitUnreachable;
  }
  if (m.find("state file") != std::string::npos || m.find("sqlite") != std::string::npos ||
      m.find("SQLite") != std::string::npos) {
    return kExitState;
  }
  if (error.kind == base::ErrorKind::kCancelled) return kExitOk;
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
    case kExitHalted:
      hint = "";
      break;
    default:
      break;
  }
  std::fprintf(stderr, "fhir-migrate: %s: %s%s\n", what.c_str(), error.message.c_str(),
               hint.c_str());
  return code;
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
