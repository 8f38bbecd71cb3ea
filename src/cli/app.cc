#include "cli/app.h"

#include <csignal>
#include <thread>

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

base::Status OpenStore(App& app, bool read_only) {
  store::SqliteOptions options;
  options.path = app.config.state_path;
  options.read_only = read_only;
  if (read_only && !app.fs->Exists(options.path)) {
    return base::MakeError(base::ErrorKind::kNotFound,
                           "no state file at " + options.path +
                               " (has `fhir-migrate run` been started with this config?)");
  }
  auto store = store::OpenSqliteStateStore(options);
  if (!store.ok()) return store.error();
  app.store = std::move(*store);
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
