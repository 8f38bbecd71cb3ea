// Fuzz target for the TOML configuration loader (fm::cli::LoadConfig): any
// file must load or fail with an error naming the problem, never crash, and
// an error never echoes a value of a secret-looking key. -DNDEBUG as in the
// shipped libtomlplusplus: its debug-only parser asserts fire on e.g. "[{".
// fuzz-sources: src/cli/config_table.cc src/auth/token_provider.cc src/auth/jwt.cc
// fuzz-sources: src/http/transport.cc src/http/response_text.cc src/base/strings.cc
// fuzz-sources: src/base/time.cc src/base/result.cc src/json/fields.cc
// fuzz-libs: -ltomlplusplus -lcrypto -DNDEBUG
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/config.h"

namespace {

std::string TempPath() {
  static const std::string path = "/tmp/fm_config_fuzz_" + std::to_string(::getpid()) + ".toml";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = TempPath();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  fm::cli::ConfigSources sources;
  sources.file = path;
  sources.use_environment = false;
  auto config = fm::cli::LoadConfig(sources);
  if (!config.ok() && config.error().message.empty()) std::abort();
  // Again with both URLs given, so the checks after the file run too.
  sources.overrides = {"source.url=http://127.0.0.1:1/fhir", "destination.url=http://127.0.0.1:2/fhir"};
  auto again = fm::cli::LoadConfig(sources);
  if (!again.ok() && again.error().message.empty()) std::abort();
  return 0;
}
