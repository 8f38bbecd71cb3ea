#include "tests/integration/live_run.h"

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>
#include <thread>

#include "http/transport.h"

namespace fm::harness {

LiveRun::LiveRun(FhirServer& source, FhirServer& destination, const std::string& dir,
                 const std::vector<std::string>& overrides)
    : dir_(dir) {
  SpawnOptions o;
  o.argv = {FhirMigrateBinary(),
            "-o",
            "source.url=" + source.base_url(),
            "-o",
            "destination.url=" + destination.base_url(),
            "-o",
            "state.path=" + dir + "/state.db",
            "-o",
            "migration.retry_backoff=100ms",
            "-o",
            "http.max_backoff=200ms"};
  for (const auto& v : overrides) {
    o.argv.push_back("-o");
    o.argv.push_back(v);
  }
  for (const char* a : {"run", "--follow", "--http", "127.0.0.1:0"}) o.argv.push_back(a);
  o.stdout_path = dir + "/run.out";
  o.stderr_path = dir + "/run.err";
  process_ = std::make_unique<Process>(o);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string err = ReadFile(dir + "/run.err");
    auto pos = err.find("serving http://");
    if (pos != std::string::npos) {
      auto end = err.find('/', pos + 15);
      if (end != std::string::npos) {
        base_ = err.substr(pos + 8, end - pos - 8);
        return;
      }
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  process_->IgnoreExitCode("it never served; the error below says why");
  throw std::runtime_error("fhir-migrate did not print its address: " + log());
}

LiveRun::~LiveRun() {
  if (!process_ || !process_->Running()) return;
  if (!::testing::Test::HasFailure()) {
    ADD_FAILURE() << "the test never stopped its `run --follow` (LiveRun::Stop): " << log();
  }
  process_->IgnoreExitCode("the test did not stop it; killed on the way out");
}

int LiveRun::Stop() {
  process_->Signal(SIGTERM);
  auto code = process_->Wait(std::chrono::seconds(20));
  if (code) return *code;
  process_->Signal(SIGKILL);
  return process_->Wait(std::chrono::seconds(5)).value_or(-1);
}

std::string LiveRun::log() const { return ReadFile(dir_ + "/run.err"); }

HttpReply HttpGet(const std::string& url) {
  static auto* transport = http::NewCurlTransport(http::CurlOptions{}).release();
  http::Request r;
  r.url = url;
  r.timeout = std::chrono::seconds(10);
  auto resp = transport->Send(r);
  if (!resp.ok()) return {};
  return {resp->status, resp->body};
}

}  // namespace fm::harness
