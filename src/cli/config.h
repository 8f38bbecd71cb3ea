// The whole configuration of a run, filled from one declarative table
// (config_table.cc): TOML file, then FHIR_MIGRATE_* environment variables,
// then `-o key=value` flags. Every key is validated once; an error names it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/token_provider.h"
#include "base/result.h"
#include "http/retry.h"
#include "http/transport.h"
#include "migrate/options.h"
#include "verify/full.h"

namespace fm::cli {

struct ServerConfig {
  std::string url;  // FHIR base, e.g. https://host/fhir (path kept)
  auth::AuthOptions auth;  // <server>.auth.* keys
};

// verify.* keys (docs/verification.md).
struct VerifyConfig {
  std::vector<std::string> types;   // empty: migration.types, else all with data
  std::vector<std::string> ignore;  // JSON Pointers
  bool history = false;
  int page_size = 1000;
  std::string spill_dir;
  verify::FullVia full_via = verify::FullVia::kAuto;  // how --full reads each side
};

struct Config {
  ServerConfig source;
  ServerConfig destination;
  migrate::MigrationOptions migration;
  std::string state_path = "fhir-migrate.db";
  base::Millis http_timeout{std::chrono::minutes(5)};
  http::RetryOptions retry;
  http::CurlOptions curl;
  bool insecure = false;
  std::string log_level = "info";
  std::string log_format = "text";  // text | json
  // security.allowed_origins: storage origins (besides each server's own) that
  // status and file URLs may point to.
  std::vector<std::string> allowed_origins;
  // Found while loading (e.g. a config file or secret file readable by
  // others); logged by the commands on start.
  std::vector<std::string> warnings;
  VerifyConfig verify;
  // The config file that was read ("" when none).
  std::string config_file;
};

// "config file ./fhir-migrate.toml (then environment and -o)" or "no config
// file, defaults + environment": printed by `check` and at the top of `run`.
std::string ConfigOrigin(const Config& config);

struct ConfigSources {
  std::optional<std::string> file;           // --config
  std::vector<std::string> overrides;        // -o key=value
  bool use_environment = true;
  // Without --config: read `discover_path` when it exists (the CLI sets
  // discover, so `init` then `check` works without -c).
  bool discover = false;
  std::string discover_path = "fhir-migrate.toml";
  // false: source.url and destination.url may be absent (commands that read
  // only the state file: status, failures list).
  bool require_servers = true;
};

// Loads defaults, then the file, then the environment, then the overrides.
base::Result<Config> LoadConfig(const ConfigSources& sources);

// Environment variable name of a key: "rest.batch_size" → FHIR_MIGRATE_REST_BATCH_SIZE.
std::string EnvName(const std::string& key);

// A commented example config listing every key with its default and meaning.
std::string ExampleConfig();

// Markdown table of every key (docs/configuration.md is generated from it).
std::string ConfigReferenceMarkdown();

}  // namespace fm::cli
