#include "cli/app.h"

#include <algorithm>
#include <csignal>
#include <thread>

#include "base/strings.h"

namespace fm::cli {

std::unique_ptr<App> BuildApp(Config config, migrate::ProgressSink& retry_sink) {
  auto app = std::make_unique<App>();
  app->config = std::move(config);
  app->clock = env::NewSystemClock();
  app->fs = env::NewPosixFileSystem();
  app->curl = http::NewCurlTransport(app->config.curl);
  app->counting = std::make_unique<http::CountingTransport>(*app->curl);
  app->counting->AddServer("source", app->config.source.url);
  app->counting->AddServer("destination", app->config.destination.url);
  app->retrying = http::NewRetryingTransport(
      *app->counting, *app->clock, app->config.retry, [&retry_sink](const http::RetryEvent& e) {
        std::string reason = e.reason;
        if (e.clamped) {
          reason += " (server asked to wait " + base::FormatDuration(e.requested) +
                    ", clamped to http.max_retry_after)";
        }
        retry_sink.OnRetryScheduled(e.url, e.delay, reason);
      });
  const Config& c = app->config;
  app->source_auth = auth::NewTokenProvider(c.source.auth, "source.auth", c.source.url,
                                            *app->retrying, *app->clock);
  app->destination_auth = auth::NewTokenProvider(c.destination.auth, "destination.auth",
                                                 c.destination.url, *app->retrying, *app->clock);
  app->source_transport =
      auth::NewAuthorizingTransport(*app->retrying, *app->source_auth, c.source.url);
  app->destination_transport =
      auth::NewAuthorizingTransport(*app->retrying, *app->destination_auth, c.destination.url);
  app->source =
      std::make_unique<fhir::Client>("source", c.source.url, *app->source_transport, *app->clock);
  app->destination = std::make_unique<fhir::Client>("destination", c.destination.url,
                                                    *app->destination_transport, *app->clock);
  app->config.migration.identity =
      "source " + app->source->base_url() + "\ndestination " + app->destination->base_url();
  return app;
}

auth::AuthHeaderFn SourceAuthHeader(App& app) {
  return auth::AuthHeaderFor(*app.source_auth, app.config.source.url);
}

auth::AuthHeaderFn DestinationAuthHeader(App& app) {
  return auth::AuthHeaderFor(*app.destination_auth, app.config.destination.url);
}

base::Result<std::unique_ptr<store::StateStore>> OpenStateFile(const Config& config,
                                                               bool read_only) {
  store::SqliteOptions options;
  options.path = config.state_path;
  options.read_only = read_only;
  if (read_only && !env::NewPosixFileSystem()->Exists(options.path)) {
    return base::MakeError(base::ErrorKind::kStorage,
                           "no state file at " + options.path +
                               " (has `fhir-migrate run` been started with this config? "
                               "state.path names the file)");
  }
  return store::OpenSqliteStateStore(options);
}

base::Status OpenStore(App& app, bool read_only) {
  auto store = OpenStateFile(app.config, read_only);
  if (!store.ok()) return store.error();
  app.store = std::move(*store);
  return base::Ok();
}

base::Result<ServerCapabilities> CheckServers(App& app) {
  const Config& c = app.config;
  FM_TRY_STATUS(auth::CheckCredentials(c.source.auth, "source.auth"));
  FM_TRY_STATUS(auth::CheckCredentials(c.destination.auth, "destination.auth"));
  ServerCapabilities out;
  struct Side {
    const char* name;
    const std::string& url;
    auth::TokenProvider& provider;
    fhir::Capabilities& caps;
  };
  for (const Side& side :
       {Side{"source", c.source.url, *app.source_auth, out.source},
        Side{"destination", c.destination.url, *app.destination_auth, out.destination}}) {
    // The counting transport without the retry wrapper: one try each.
    auto transport = auth::NewAuthorizingTransport(*app.counting, side.provider, side.url);
    fhir::Client probe(side.name, side.url, *transport, *app.clock);
    auto caps = probe.ProbeCapabilities();
    if (!caps.ok()) {
      base::Error e = caps.error();
      if (!base::StartsWith(e.message, side.name)) e.message = side.name + (": " + e.message);
      return e;
    }
    side.caps = std::move(*caps);
  }
  return out;
}

base::Status CheckTypesKnown(const std::vector<std::string>& types,
                             const fhir::Capabilities& source, const std::string& key) {
  if (source.resource_types.empty()) return base::Ok();  // it lists none: nothing to check
  for (const auto& type : types) {
    if (std::find(source.resource_types.begin(), source.resource_types.end(), type) !=
        source.resource_types.end()) {
      continue;
    }
    std::string nearest = base::Nearest(type, source.resource_types);
    return base::MakeError(
        base::ErrorKind::kConfig,
        key + ": the source's CapabilityStatement has no resource type '" + type + "'" +
            (nearest.empty() ? std::string() : " (did you mean '" + nearest + "'?)"));
  }
  return base::Ok();
}

void InstallSignalHandling(env::Clock& clock) {
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([&clock] {
    int sig = 0;
    sigwait(&set, &sig);
    clock.Interrupt();
    // A second signal means "now": restore the default action.
    sigwait(&set, &sig);
    std::signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::raise(sig);
  }).detach();
}

}  // namespace fm::cli
