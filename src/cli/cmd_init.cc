#include <cstdio>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "env/file_system.h"

namespace fm::cli {

int CmdInit(const std::string& path, bool force) {
  auto fs = env::NewPosixFileSystem();
  if (fs->Exists(path) && !force) {
    std::fprintf(stderr, "fhir-migrate: %s exists (use --force to overwrite)\n", path.c_str());
    return kExitUsage;
  }
  auto s = env::WriteFileAtomically(*fs, path, ExampleConfig());
  if (!s.ok()) return Report("init", s.error());
  std::printf("wrote %s\n", path.c_str());
  // Commands read ./fhir-migrate.toml by themselves; another path needs -c.
  std::string with =
      path == "fhir-migrate.toml" || path == "./fhir-migrate.toml" ? std::string() : " -c " + path;
  std::printf(
      "next: set source.url and destination.url in it (and [source.auth] / "
      "[destination.auth] if the servers need credentials), then run `fhir-migrate%s check`\n",
      with.c_str());
  return kExitOk;
}

}  // namespace fm::cli
