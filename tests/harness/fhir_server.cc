#include "tests/harness/fhir_server.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "http/transport.h"

namespace fm::harness {
namespace {

http::Transport& Curl() {
  static auto* transport = http::NewCurlTransport(http::CurlOptions{}).release();
  return *transport;
}

}  // namespace

std::string NodeBinary() {
  const char* n = std::getenv("FM_NODE");
  return n && *n ? n : "node";
}

FhirServer::FhirServer(const std::string& name) : name_(name), dir_(TempDir("fm_server_" + name)) {
  SpawnOptions o;
  o.argv = {NodeBinary(), SourceDir() + "/tests/servers/fhir-server.mjs", "--port", "0",
            "--host", "127.0.0.1", "--name", name};
  o.stdout_path = dir_ + "/stdout";
  o.stderr_path = dir_ + "/stderr";
  process_ = std::make_unique<Process>(o);
  process_->IgnoreExitCode("a test server, stopped by the harness: how it ends is not under test");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = ReadFile(dir_ + "/stdout");
    auto pos = out.find("LISTENING ");
    if (pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = std::atoi(out.c_str() + pos + 10);
      return;
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("test FHIR server '" + name + "' did not start: " +
                           ReadFile(dir_ + "/stderr"));
}

FhirServer::~FhirServer() {
  if (process_) {
    process_->Signal(SIGTERM);
    if (!process_->Wait(std::chrono::seconds(5))) process_->Signal(SIGKILL);
    (void)process_->Wait(std::chrono::seconds(5));
  }
}

std::string FhirServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/fhir";
}

std::string FhirServer::log() const { return ReadFile(dir_ + "/stdout") + ReadFile(dir_ + "/stderr"); }

FhirServer::Reply FhirServer::Get(const std::string& path_and_query) {
  http::Request r;
  r.url = base_url() + path_and_query;
  r.headers.push_back({"Accept", "application/fhir+json"});
  auto resp = Curl().Send(r);
  if (!resp.ok()) throw std::runtime_error("GET " + r.url + ": " + resp.error().message);
  return {resp->status, resp->body};
}

FhirServer::Reply FhirServer::Post(const std::string& path, const std::string& body,
                                   const std::string& content_type) {
  http::Request r;
  r.method = "POST";
  r.url = base_url() + path;
  r.body = body;
  r.headers.push_back({"Content-Type", content_type});
  auto resp = Curl().Send(r);
  if (!resp.ok()) throw std::runtime_error("POST " + r.url + ": " + resp.error().message);
  return {resp->status, resp->body};
}

FhirServer::Reply FhirServer::Put(const std::string& path, const std::string& body) {
  http::Request r;
  r.method = "PUT";
  r.url = base_url() + path;
  r.body = body;
  r.headers.push_back({"Content-Type", "application/fhir+json"});
  auto resp = Curl().Send(r);
  if (!resp.ok()) throw std::runtime_error("PUT " + r.url + ": " + resp.error().message);
  return {resp->status, resp->body};
}

FhirServer::Reply FhirServer::Delete(const std::string& path) {
  http::Request r;
  r.method = "DELETE";
  r.url = base_url() + path;
  auto resp = Curl().Send(r);
  if (!resp.ok()) throw std::runtime_error("DELETE " + r.url + ": " + resp.error().message);
  return {resp->status, resp->body};
}

void FhirServer::LoadNdjson(const std::string& ndjson) {
  auto reply = Post("/$admin/load", ndjson, "application/fhir+ndjson");
  if (reply.status != 200) throw std::runtime_error("$admin/load failed: " + reply.body);
}

void FhirServer::Reset() { Post("/$admin/reset", "{}", "application/json"); }

void FhirServer::SetFaults(const std::string& json) {
  auto reply = Post("/$admin/faults", json, "application/json");
  if (reply.status != 200) throw std::runtime_error("$admin/faults failed: " + reply.body);
}

std::string FhirServer::Stats() { return Get("/$admin/stats").body; }

}  // namespace fm::harness
