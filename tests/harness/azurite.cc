#include "tests/harness/azurite.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "tests/harness/fhir_server.h"

namespace fm::harness {

Azurite::Azurite() : dir_(TempDir("fm_azurite")) {
  SpawnOptions o;
  o.argv = {NodeBinary(),
            SourceDir() + "/tests/servers/node_modules/azurite/dist/src/blob/main.js",
            "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
            "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"};
  o.stdout_path = dir_ + "/stdout";
  o.stderr_path = dir_ + "/stderr";
  o.cwd = dir_;
  process_ = std::make_unique<Process>(o);
  process_->IgnoreExitCode(
      "the Azure Blob emulator, stopped by the harness: how it ends is not under test");
  // "Azurite Blob service successfully listens on http://127.0.0.1:PORT"
  // (azurite-blob) or "... successfully listening at http://..." (azurite).
  const std::string marker = "http://127.0.0.1:";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = ReadFile(dir_ + "/stdout");
    auto ready = out.find("successfully listen");
    auto pos = ready == std::string::npos ? ready : out.find(marker, ready);
    if (pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = std::atoi(out.c_str() + pos + marker.size());
      return;
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("Azurite did not start: " + log());
}

Azurite::~Azurite() {
  if (process_) {
    process_->Signal(SIGTERM);
    if (!process_->Wait(std::chrono::seconds(5))) process_->Signal(SIGKILL);
    (void)process_->Wait(std::chrono::seconds(5));
  }
}

std::string Azurite::blob_endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + kAccount;
}

std::string Azurite::log() const { return ReadFile(dir_ + "/stdout") + ReadFile(dir_ + "/stderr"); }

}  // namespace fm::harness
