// The composition root: the only place that names concrete classes.
#pragma once

#include <memory>

#include "auth/authorizing_transport.h"
#include "auth/token_provider.h"
#include "cli/config.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "fhir/client.h"
#include "http/counting_transport.h"
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
  std::unique_ptr<http::CountingTransport> counting;  // requests by server and status (/metrics)
  std::unique_ptr<http::Transport> retrying;
  // Per server: credentials and the transport that adds them (curl →
  // retrying → authorizing). Token requests go through `retrying`.
  std::unique_ptr<auth::TokenProvider> source_auth;
  std::unique_ptr<auth::TokenProvider> destination_auth;
  std::unique_ptr<http::Transport> source_transport;
  std::unique_ptr<http::Transport> destination_transport;
  std::unique_ptr<fhir::Client> source;
  std::unique_ptr<fhir::Client> destination;
  std::unique_ptr<store::StateStore> store;  // null until OpenStore
};

// Wires transports and clients; `retry_sink` hears every retry.
std::unique_ptr<App> BuildApp(Config config, migrate::ProgressSink& retry_sink);

// For code that follows URLs a server hands back (bulk status and files):
// the Authorization value for a URL on that server's own origin only.
auth::AuthHeaderFn SourceAuthHeader(App& app);
auth::AuthHeaderFn DestinationAuthHeader(App& app);

// Opens (creating when writable) the SQLite state store of the config. A
// read-only open of a file that does not exist is kStorage.
base::Result<std::unique_ptr<store::StateStore>> OpenStateFile(const Config& config,
                                                               bool read_only);
base::Status OpenStore(App& app, bool read_only);

// The start-up check of every command that talks to the servers (`run`,
// `check`, `verify`, `failures retry`): the credentials of both servers can
// be read (kConfig otherwise, naming the key or variable), then each server
// answers `metadata` once, without the retry wrapper and within
// http.timeout: kUnreachable when it cannot be reached or is no FHIR server,
// kUnauthorized when it refuses the credentials. Sends nothing else.
struct ServerCapabilities {
  fhir::Capabilities source;
  fhir::Capabilities destination;
};
base::Result<ServerCapabilities> CheckServers(App& app);

// Each of `types` is a resource type the source's CapabilityStatement lists
// (when it lists any): kConfig naming `key`, the type and the nearest known
// type otherwise.
base::Status CheckTypesKnown(const std::vector<std::string>& types,
                             const fhir::Capabilities& source, const std::string& key);

// Interrupts app.clock on SIGINT/SIGTERM (graceful stop). Call before any
// thread starts so every thread inherits the blocked signal mask.
void InstallSignalHandling(env::Clock& clock);

}  // namespace fm::cli
