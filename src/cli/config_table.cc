// The one table of configuration keys: name, default, meaning, and how the
// value lands in Config. Everything else (TOML, environment, flags, `init`,
// docs/configuration.md) is derived from it.
#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>
#include <toml++/toml.h>

#include "base/strings.h"
#include "cli/config.h"

namespace fm::cli {
namespace {

using base::ErrorKind;
using base::MakeError;
using base::Status;

using Setter = std::function<Status(Config&, const std::string&)>;

struct Key {
  const char* name;
  const char* default_value;  // as written in TOML; "" = unset
  const char* meaning;
  Setter set;
};

base::Error Bad(const std::string& what) { return MakeError(ErrorKind::kInvalidData, what); }

Status ParseInt(const std::string& v, int64_t min, int64_t max, int64_t& out) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return Bad("'" + v + "' is not a whole number");
  if (n < min || n > max) {
    return Bad(std::to_string(n) + " is out of range [" + std::to_string(min) + ", " +
               std::to_string(max) + "]");
  }
  out = n;
  return base::Ok();
}


Setter IntField(std::function<void(Config&, int64_t)> put, int64_t min, int64_t max) {
  return [=](Config& c, const std::string& v) -> Status {
    int64_t n = 0;
    FM_TRY_STATUS(ParseInt(v, min, max, n));
    put(c, n);
    return base::Ok();
  };
}

Setter DurationField(std::function<void(Config&, base::Millis)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    FM_ASSIGN_OR_RETURN(auto d, base::ParseDuration(v));
    put(c, d);
    return base::Ok();
  };
}

Setter BoolField(std::function<void(Config&, bool)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    if (v == "true" || v == "1" || v == "yes") {
      put(c, true);
    } else if (v == "false" || v == "0" || v == "no") {
      put(c, false);
    } else {
      return Bad("'" + v + "' is not true or false");
    }
    return base::Ok();
  };
}

Setter StringField(std::function<void(Config&, const std::string&)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    put(c, v);
    return base::Ok();
  };
}

Setter InstantField(std::function<void(Config&, std::optional<base::Instant>)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    if (v.empty() || v == "auto") {
      put(c, std::nullopt);
      return base::Ok();
    }
    FM_ASSIGN_OR_RETURN(auto t, base::ParseInstant(v));
    put(c, t);
    return base::Ok();
  };
}

Setter UrlField(std::function<void(Config&, const std::string&)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    if (!v.empty() && !base::StartsWith(v, "http://") && !base::StartsWith(v, "https://")) {
      return Bad("'" + v + "' is not an http(s) URL");
    }
    std::string url = v;
    while (!url.empty() && url.back() == '/') url.pop_back();
    put(c, url);
    return base::Ok();
  };
}

Setter ListField(std::function<void(Config&, std::vector<std::string>)> put) {
  return [=](Config& c, const std::string& v) -> Status {
    std::vector<std::string> items;
    for (auto part : base::Split(v, ',')) {
      auto t = base::Trim(part);
      if (!t.empty()) items.emplace_back(t);
    }
    put(c, std::move(items));  // replaces, never appends to the default
    return base::Ok();
  };
}

const std::vector<Key>& Keys() {
  using migrate::ExtractMode;
  using migrate::LoadMode;
  static const std::vector<Key> keys = {
      {"source.url", "", "FHIR base URL of the source server (path kept)",
       UrlField([](Config& c, const std::string& v) { c.source.url = v; })},
      {"destination.url", "", "FHIR base URL of the destination server (path kept)",
       UrlField([](Config& c, const std::string& v) { c.destination.url = v; })},
      {"migration.start", "auto",
       "first window start (FHIR instant or date); auto = oldest _lastUpdated on the source",
       InstantField([](Config& c, auto t) { c.migration.plan.start = t; })},
      {"migration.end", "", "optional end: migrate only [start, end) and stop",
       InstantField([](Config& c, auto t) { c.migration.plan.end = t; })},
      {"migration.window", "30d", "window length (d, h, m units)",
       DurationField([](Config& c, base::Millis d) { c.migration.plan.window = d; })},
      {"migration.min_window", "1m", "windows are not split below this length",
       DurationField([](Config& c, base::Millis d) { c.migration.plan.min_window = d; })},
      {"migration.max_resources_per_window", "200000", "a window counting more is split in halves",
       IntField([](Config& c, int64_t n) { c.migration.plan.max_resources_per_window = n; }, 1,
                INT64_MAX)},
      {"migration.safety_lag", "2m",
       "the newest window ends at now minus this, so late commits are not missed",
       DurationField([](Config& c, base::Millis d) { c.migration.plan.safety_lag = d; })},
      {"migration.types", "", "resource types to migrate (comma list); empty = all with data",
       ListField([](Config& c, auto v) { c.migration.plan.types = std::move(v); })},
      {"migration.extract", "search", "how to read the source: search",
       [](Config& c, const std::string& v) -> Status {
         if (v == "search") {
           c.migration.extract = ExtractMode::kSearch;
         } else {
           return Bad("'" + v + "' is not supported (use search)");
         }
         return base::Ok();
       }},
      {"migration.load", "rest", "how to write the destination: rest",
       [](Config& c, const std::string& v) -> Status {
         if (v == "rest") {
           c.migration.load = LoadMode::kRest;
         } else {
           return Bad("'" + v + "' is not supported (use rest)");
         }
         return base::Ok();
       }},
      {"migration.max_attempts", "5", "a window failing this often halts the migration",
       IntField([](Config& c, int64_t n) { c.migration.run.max_attempts = static_cast<int>(n); },
                1, 1000)},
      {"migration.retry_backoff", "10s", "delay before a failed window is retried (doubles)",
       DurationField([](Config& c, base::Millis d) { c.migration.run.retry_backoff = d; })},
      {"migration.poll_interval", "1m", "follow mode: how often new windows are planned",
       DurationField([](Config& c, base::Millis d) { c.migration.run.poll_interval = d; })},
      {"migration.windows_in_flight", "1", "windows extracted and loaded at the same time",
       IntField([](Config& c, int64_t n) { c.migration.run.windows_in_flight = static_cast<int>(n); },
                1, 64)},
      {"search.page_size", "500", "_count of source search pages",
       IntField([](Config& c, int64_t n) { c.migration.search.page_size = static_cast<int>(n); },
                1, 10000)},
      {"rest.batch_size", "100", "entries per destination Bundle",
       IntField([](Config& c, int64_t n) { c.migration.rest.batch_size = static_cast<int>(n); }, 1,
                10000)},
      {"rest.concurrency", "4", "Bundles in flight to the destination",
       IntField([](Config& c, int64_t n) { c.migration.rest.concurrency = static_cast<int>(n); }, 1,
                256)},
      {"rest.bundle", "batch", "Bundle type: batch or transaction",
       [](Config& c, const std::string& v) -> Status {
         if (v != "batch" && v != "transaction") return Bad("use batch or transaction");
         c.migration.rest.transaction = v == "transaction";
         return base::Ok();
       }},
      {"rest.max_entry_retries", "3", "re-sends of an entry answered 429/5xx before the window fails",
       IntField([](Config& c, int64_t n) { c.migration.rest.max_entry_retries = static_cast<int>(n); },
                0, 100)},
      {"state.path", "fhir-migrate.db", "SQLite state file (created 0600)",
       StringField([](Config& c, const std::string& v) { c.state_path = v; })},
      {"http.timeout", "5m", "whole-request timeout",
       DurationField([](Config& c, base::Millis d) { c.http_timeout = d; })},
      {"http.max_attempts", "8", "tries per request on 429/5xx/network errors",
       IntField([](Config& c, int64_t n) { c.retry.max_attempts = static_cast<int>(n); }, 1, 100)},
      {"http.max_retry_after", "5m", "a longer Retry-After is clamped to this (and logged)",
       DurationField([](Config& c, base::Millis d) { c.retry.max_retry_after = d; })},
      {"http.max_backoff", "60s", "longest computed backoff between tries",
       DurationField([](Config& c, base::Millis d) { c.retry.max_backoff = d; })},
      {"http.ca_bundle", "", "PEM file of extra trusted CAs",
       StringField([](Config& c, const std::string& v) { c.curl.ca_bundle = v; })},
      {"http.insecure", "false", "DANGER: skip TLS verification (warned on every start)",
       BoolField([](Config& c, bool b) { c.insecure = b; })},
      {"log.level", "info", "trace, debug, info, warn, error",
       [](Config& c, const std::string& v) -> Status {
         if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error") {
           return Bad("use trace, debug, info, warn or error");
         }
         c.log_level = v;
         return base::Ok();
       }},
      {"log.format", "text", "text or json",
       [](Config& c, const std::string& v) -> Status {
         if (v != "text" && v != "json") return Bad("use text or json");
         c.log_format = v;
         return base::Ok();
       }},
  };
  return keys;
}

const Key* FindKey(const std::string& name) {
  for (const auto& k : Keys()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

Status Apply(Config& config, const std::string& key, const std::string& value,
             const std::string& origin) {
  const Key* k = FindKey(key);
  if (!k) return Bad(origin + ": unknown configuration key '" + key + "'");
  Status s = k->set(config, value);
  if (!s.ok()) return Bad(origin + ": " + key + ": " + s.error().message);
  return base::Ok();
}

// TOML values as the strings the setters take.
std::optional<std::string> NodeText(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto b = node.value_exact<bool>()) return *b ? "true" : "false";
  if (auto i = node.value_exact<int64_t>()) return std::to_string(*i);
  if (auto a = node.as_array()) {
    std::string out;
    for (const auto& item : *a) {
      auto t = item.value<std::string>();
      if (!t) return std::nullopt;
      if (!out.empty()) out += ",";
      out += *t;
    }
    return out;
  }
  return std::nullopt;
}

Status ApplyFile(Config& config, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Bad(path + ":" + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description()));
  }
  for (const auto& [section, node] : table) {
    const toml::table* inner = node.as_table();
    if (!inner) return Bad(path + ": '" + std::string(section.str()) + "' must be a [section]");
    for (const auto& [name, value] : *inner) {
      std::string key = std::string(section.str()) + "." + std::string(name.str());
      auto text = NodeText(value);
      if (!text) return Bad(path + ": " + key + ": unsupported value type");
      FM_TRY_STATUS(Apply(config, key, *text, path));
    }
  }
  return base::Ok();
}

}  // namespace

std::string EnvName(const std::string& key) {
  std::string out = "FHIR_MIGRATE_";
  for (char ch : key) out += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
  return out;
}

base::Result<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  for (const auto& k : Keys()) {
    FM_TRY_STATUS(Apply(config, k.name, k.default_value, "default"));
  }
  if (sources.file) FM_TRY_STATUS(ApplyFile(config, *sources.file));
  if (sources.use_environment) {
    for (const auto& k : Keys()) {
      std::string env = EnvName(k.name);
      if (const char* v = std::getenv(env.c_str())) FM_TRY_STATUS(Apply(config, k.name, v, env));
    }
  }
  for (const auto& o : sources.overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos) return Bad("-o " + o + ": expected key=value");
    FM_TRY_STATUS(Apply(config, o.substr(0, eq), o.substr(eq + 1), "-o"));
  }
  if (config.source.url.empty()) {
    return Bad("source.url is required (config file, " + EnvName("source.url") + " or -o source.url=...)");
  }
  if (config.destination.url.empty()) {
    return Bad("destination.url is required (config file, " + EnvName("destination.url") +
               " or -o destination.url=...)");
  }
  if (config.source.url == config.destination.url) {
    return Bad("source.url and destination.url are the same server");
  }
  if (config.migration.plan.start && config.migration.plan.end &&
      *config.migration.plan.end <= *config.migration.plan.start) {
    return Bad("migration.end must be after migration.start");
  }
  if (config.migration.plan.min_window > config.migration.plan.window) {
    return Bad("migration.min_window is longer than migration.window");
  }
  config.curl.verify_tls = !config.insecure;
  return config;
}

std::string ExampleConfig() {
  std::string out =
      "# fhir-migrate configuration. Every key can also be set with an environment\n"
      "# variable (FHIR_MIGRATE_<SECTION>_<KEY>) or a flag (-o section.key=value).\n"
      "# Secrets never go here or on the command line.\n";
  std::string section;
  for (const auto& k : Keys()) {
    std::string name = k.name;
    std::string sec = name.substr(0, name.find('.'));
    if (sec != section) {
      section = sec;
      out += "\n[" + section + "]\n";
    }
    std::string key = name.substr(name.find('.') + 1);
    std::string value = k.default_value;
    bool numeric = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    bool boolean = value == "true" || value == "false";
    std::string rendered = numeric || boolean ? value : "\"" + value + "\"";
    out += "# " + std::string(k.meaning) + "\n";
    if (name == "source.url") {
      out += key + " = \"http://127.0.0.1:8080/fhir\"\n";
    } else if (name == "destination.url") {
      out += key + " = \"http://127.0.0.1:8081/fhir\"\n";
    } else if (value.empty()) {
      out += "# " + key + " = \"\"\n";
    } else {
      out += "# " + key + " = " + rendered + "\n";
    }
  }
  return out;
}

std::string ConfigReferenceMarkdown() {
  std::string out = "| key | default | environment variable | meaning |\n|---|---|---|---|\n";
  for (const auto& k : Keys()) {
    out += std::string("| `") + k.name + "` | `" + k.default_value + "` | `" + EnvName(k.name) +
           "` | " + k.meaning + " |\n";
  }
  return out;
}

}  // namespace fm::cli
