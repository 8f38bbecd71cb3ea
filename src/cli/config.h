// The whole configuration of a run, filled from one declarative table
// (config_table.cc): TOML file, then FHIR_MIGRATE_* environment variables,
// then `-o key=value` flags. Every key is validated once; an error names it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "http/retry.h"
#include "http/transport.h"
#include "migrate/options.h"

namespace fm::cli {

struct ServerConfig {
  std::string url;  // FHIR base, e.g. https://host/fhir (path kept)
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
};

struct ConfigSources {
  std::optional<std::string> file;           // --config
  std::vector<std::string> overrides;        // -o key=value
  bool use_environment = true;
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
