// The operator endpoints of `run --http`: /metrics (Prometheus), /status.json
// (schema fhir-migrate.status/1, read from the state store), /healthz and the
// self-contained dashboard at /.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "env/clock.h"
#include "http/counting_transport.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/status_report.h"

namespace fm::server {

struct OpsSources {
  MetricsSink* metrics = nullptr;                       // required
  const http::CountingTransport* transport = nullptr;   // optional
  env::Clock* clock = nullptr;                          // required
  // Gathers the status (e.g. from the run's store). Called on the server thread.
  std::function<base::Result<StatusReport>()> status;
  std::function<int64_t()> bytes_staged;                // optional
};

// Routes a request to the endpoints; exposed for tests.
HttpResponse HandleOps(const OpsSources& sources, const HttpRequest& request);

// Starts the server; returns it with the bound address in `bound`.
base::Result<std::unique_ptr<HttpServer>> StartOpsServer(OpsSources sources,
                                                         const std::string& listen,
                                                         std::string* bound);

// The dashboard page (HTML with inline CSS and JS, no external resource).
const std::string& DashboardHtml();

}  // namespace fm::server
