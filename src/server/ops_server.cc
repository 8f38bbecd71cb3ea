#include "server/ops_server.h"

namespace fm::server {

HttpResponse HandleOps(const OpsSources& s, const HttpRequest& request) {
  if (request.path == "/favicon.ico") return {200, "image/x-icon", ""};  // no console 404
  if (request.path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (request.path == "/metrics") {
    int64_t staged = s.bytes_staged ? s.bytes_staged() : 0;
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            s.metrics->Render(s.clock->Now(), s.transport, staged)};
  }
  if (request.path == "/status.json") {
    if (!s.status) return {503, "application/json", "{\"error\":\"no state store\"}\n"};
    auto report = s.status();
    if (!report.ok()) {
      return {503, "application/json", "{\"error\":" + JsonQuote(report.error().message) + "}\n"};
    }
    return {200, "application/json", StatusJson(*report)};
  }
  if (request.path == "/" || request.path == "/index.html") {
    return {200, "text/html; charset=utf-8", DashboardHtml()};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

base::Result<std::unique_ptr<HttpServer>> StartOpsServer(OpsSources sources,
                                                         const std::string& listen,
                                                         std::string* bound) {
  auto server = std::make_unique<HttpServer>(
      [sources = std::move(sources)](const HttpRequest& r) { return HandleOps(sources, r); });
  auto address = server->Start(listen);
  if (!address.ok()) return address.error();
  if (bound) *bound = *address;
  return server;
}

}  // namespace fm::server
