// The composition root: the only place that names concrete classes.
#pragma once

#include <memory>

#include "cli/config.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "fhir/client.h"
#include "http/retry.h"
#include "http/transport.h"
#include "migrate/progress.h"
#include "store/state_store.h"

namespace fm::cli {

struct App {
  Config config;
  std::unique_ptr<env::Clock> clock;
  std::unique_ptr<env::FileSystem> fs;
  std::unique_ptr<http::Transport> curl;
  std::unique_ptr<http::Transport> retrying;
  std::unique_ptr<fhir::Client> source;
  std::unique_ptr<fhir::Client> destination;
  std::unique_ptr<store::StateStore> store;  // null until OpenStore
};

// Wires transports and clients; `retry_sink` hears every retry.
std::unique_ptr<App> BuildApp(Config config, migrate::ProgressSink& retry_sink);

// Opens (creating when writable) the SQLite state store of the config.
base::Status OpenStore(App& app, bool read_only);

// Interrupts app.clock on SIGINT/SIGTERM (graceful stop). Call before any
// thread starts so every thread inherits the blocked signal mask.
void InstallSignalHandling(env::Clock& clock);

}  // namespace fm::cli
