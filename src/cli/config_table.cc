// The one table of configuration keys: name, default, meaning, and how the
// value lands in Config. Everything else (TOML, environment, flags, `init`,
// docs/configuration.md) is derived from it.
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <map>

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

base::Error Bad(const std::string& what) { return MakeError(ErrorKind::kConfig, what); }

Status ParseInt(const std::string& v, int64_t min, int64_t max, int64_t& out) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size())
    return Bad("'" + v + "' is not a whole number");
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

// A hundred years: longer durations are mistakes, and instants computed with
// them would leave the calendar the tool formats.
constexpr base::Millis kLongestDuration{36500LL * 86'400'000};

// A duration in [min, max]; the error says which bound a value missed.
Setter DurationField(std::function<void(Config&, base::Millis)> put,
                     base::Millis min = base::Millis(0), base::Millis max = kLongestDuration) {
  return [=](Config& c, const std::string& v) -> Status {
    FM_ASSIGN_OR_RETURN(auto d, base::ParseDuration(v));
    if (d < min) {
      return Bad(base::FormatDuration(d) + " is too short (at least " + base::FormatDuration(min) +
                 ")");
    }
    if (d > max) {
      return Bad("'" + v + "' is too long (at most " + base::FormatDuration(max) + ")");
    }
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

// <server>.auth.* for one server. Names live in a deque (stable addresses).
void AddAuthKeys(std::vector<Key>& keys, const std::string& server, ServerConfig Config::*member) {
  static std::deque<std::string> names;
  using Field = std::string auth::AuthOptions::*;
  struct Spec {
    const char* key;
    const char* default_value;
    const char* meaning;
    Field field;
  };
  static const Spec specs[] = {
      {"kind", "none",
       "none, bearer, basic, client_credentials, smart (SMART Backend Services) or "
       "managed_identity",
       &auth::AuthOptions::kind},
      {"token_url", "",
       "OAuth2 token endpoint (client_credentials; smart: discovered from "
       "[base]/.well-known/smart-configuration when empty)",
       &auth::AuthOptions::token_url},
      {"client_id", "", "OAuth2 client id (client_credentials, smart: also the JWT iss and sub)",
       &auth::AuthOptions::client_id},
      {"scope", "", "requested scope, e.g. system/*.read or https://<fhir-host>/.default",
       &auth::AuthOptions::scope},
      {"resource", "", "requested resource (Entra ID v1 shape; managed_identity: required)",
       &auth::AuthOptions::resource},
      {"client_auth", "client_secret_post", "client_secret_post or client_secret_basic",
       &auth::AuthOptions::client_auth},
      {"client_secret_env", "", "NAME of the environment variable holding the client secret",
       &auth::AuthOptions::client_secret_env},
      {"client_secret_file", "", "file holding the client secret (keep it 0600)",
       &auth::AuthOptions::client_secret_file},
      {"token_env", "", "bearer: NAME of the environment variable holding the token",
       &auth::AuthOptions::token_env},
      {"token_file", "", "bearer: file holding the token", &auth::AuthOptions::token_file},
      {"username", "", "basic: user name", &auth::AuthOptions::username},
      {"password_env", "", "basic: NAME of the environment variable holding the password",
       &auth::AuthOptions::password_env},
      {"password_file", "", "basic: file holding the password", &auth::AuthOptions::password_file},
      {"private_key_file", "", "smart: PEM private key (RSA for RS384, P-384 for ES384; 0600)",
       &auth::AuthOptions::private_key_file},
      {"kid", "", "smart: key id of the key in the registered JWKS", &auth::AuthOptions::kid},
      {"alg", "RS384", "smart: RS384 or ES384", &auth::AuthOptions::alg},
      {"imds_url", "http://169.254.169.254/metadata/identity/oauth2/token",
       "managed_identity: instance metadata token endpoint", &auth::AuthOptions::imds_url},
      {"identity_client_id", "", "managed_identity: client id of a user-assigned identity",
       &auth::AuthOptions::identity_client_id},
  };
  for (const auto& spec : specs) {
    names.push_back(server + ".auth." + spec.key);
    Field field = spec.field;
    keys.push_back({names.back().c_str(), spec.default_value, spec.meaning,
                    StringField([member, field](Config& c, const std::string& v) {
                      (c.*member).auth.*field = v;
                    })});
  }
  names.push_back(server + ".auth.refresh_skew");
  keys.push_back(
      {names.back().c_str(), "60s",
       "renew a token this long before it expires (at most half its lifetime)",
       DurationField([member](Config& c, base::Millis d) { (c.*member).auth.refresh_skew = d; })});
}

const std::vector<Key>& Keys() {
  using migrate::ExtractMode;
  using migrate::LoadMode;
  static const std::
      vector<Key>
          keys =
              {
                  {"source.url", "", "FHIR base URL of the source server (path kept)",
                   UrlField([](Config& c, const std::string& v) { c.source.url = v; })},
                  {"destination.url", "", "FHIR base URL of the destination server (path kept)",
                   UrlField([](Config& c, const std::string& v) { c.destination.url = v; })},
                  {"migration.start", "auto",
                   "first window start (FHIR instant or date); auto = oldest _lastUpdated on the "
                   "source",
                   InstantField([](Config& c, auto t) { c.migration.plan.start = t; })},
                  {"migration.end", "", "optional end: migrate only [start, end) and stop",
                   InstantField([](Config& c, auto t) { c.migration.plan.end = t; })},
                  {"migration.window", "30d", "window length (d, h, m units)",
                   DurationField([](Config& c, base::Millis d) { c.migration.plan.window = d; },
                                 base::Millis(1000))},
                  {"migration.min_window", "1m", "windows are not split below this length",
                   DurationField([](Config& c, base::Millis d) { c.migration.plan.min_window = d; },
                                 base::Millis(1))},
                  {"migration.max_resources_per_window", "200000",
                   "a window counting more is split in halves",
                   IntField(
                       [](Config& c, int64_t n) { c.migration.plan.max_resources_per_window = n; },
                       1, INT64_MAX)},
                  {"migration.safety_lag", "2m",
                   "the newest window ends at now minus this, so late commits are not missed",
                   DurationField(
                       [](Config& c, base::Millis d) { c.migration.plan.safety_lag = d; })},
                  {"migration.types", "",
                   "resource types to migrate (comma list); empty = all with data",
                   ListField([](Config& c, auto v) { c.migration.plan.types = std::move(v); })},
                  {"migration.per_type", "false",
                   "one window per resource type: one search or $export per type per window "
                   "(sources where system-level $export is slow or missing)",
                   BoolField([](Config& c, bool b) { c.migration.plan.per_type = b; })},
                  {"migration.extract", "search",
                   "how to read the source: search or bulk ($export)",
                   [](Config& c, const std::string& v) -> Status {
                     if (v == "search") {
                       c.migration.extract = ExtractMode::kSearch;
                     } else if (v == "bulk") {
                       c.migration.extract = ExtractMode::kBulk;
                     } else {
                       return Bad("'" + v + "' is not supported (use search or bulk)");
                     }
                     return base::Ok();
                   }},
                  {"migration.load", "rest",
                   "how to write the destination: rest, or import ($import; needs "
                   "migration.extract = bulk)",
                   [](Config& c, const std::string& v) -> Status {
                     if (v == "rest") {
                       c.migration.load = LoadMode::kRest;
                     } else if (v == "import") {
                       c.migration.load = LoadMode::kImport;
                     } else {
                       return Bad("'" + v + "' is not supported (use rest or import)");
                     }
                     return base::Ok();
                   }},
                  {"migration.max_attempts", "5", "a window failing this often halts the migration",
                   IntField([](Config& c,
                               int64_t n) { c.migration.run.max_attempts = static_cast<int>(n); },
                            1, 1000)},
                  {"migration.retry_backoff", "10s",
                   "delay before a failed window is retried (doubles)",
                   DurationField(
                       [](Config& c, base::Millis d) { c.migration.run.retry_backoff = d; })},
                  {"migration.poll_interval", "1m",
                   "follow mode: how often new windows are planned",
                   DurationField(
                       [](Config& c, base::Millis d) { c.migration.run.poll_interval = d; },
                       base::Millis(100))},
                  {"migration.windows_in_flight", "1",
                   "windows extracted and loaded at the same time",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.run.windows_in_flight = static_cast<int>(n);
                       },
                       1, 64)},
                  {"migration.propagate_deletes", "false",
                   "apply hard deletes on the destination (type _history for search; deleted[] and "
                   "deleted versions in output[] for bulk)",
                   BoolField([](Config& c, bool b) {
                     c.migration.search.deletes = b;
                     c.migration.run.propagate_deletes = b;
                   })},
                  {"migration.pause", "",
                   "daily UTC hours when no new window starts, e.g. 08-17 (may wrap: 22-06)",
                   [](Config& c, const std::string& v) -> Status {
                     c.migration.run.pause_from_hour = c.migration.run.pause_to_hour = 0;
                     if (v.empty()) return base::Ok();
                     int64_t from = 0, to = 0;
                     auto dash = v.find('-');
                     if (dash == std::string::npos ||
                         !ParseInt(v.substr(0, dash), 0, 23, from).ok() ||
                         !ParseInt(v.substr(dash + 1), 0, 24, to).ok()) {
                       return Bad("'" + v + "' is not HH-HH (UTC hours, e.g. 08-17)");
                     }
                     c.migration.run.pause_from_hour = static_cast<int>(from);
                     c.migration.run.pause_to_hour = static_cast<int>(to % 24);
                     return base::Ok();
                   }},
                  {"migration.pause_in_flight", "finish",
                   "when the pause begins, windows in flight finish, or stop at their next "
                   "checkpoint and resume after it (finish | stop)",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "finish" && v != "stop") {
                       return Bad("'" + v + "' is not finish or stop");
                     }
                     c.migration.run.pause_stops_in_flight = v == "stop";
                     return base::Ok();
                   }},
                  {"conformance.enabled", "true",
                   "copy conformance resources before the first window",
                   BoolField([](Config& c, bool b) { c.migration.conformance.enabled = b; })},
                  {"conformance.types", "SearchParameter",
                   "conformance types to copy first (custom SearchParameters; add "
                   "StructureDefinition, ValueSet, CodeSystem)",
                   ListField(
                       [](Config& c, auto v) { c.migration.conformance.types = std::move(v); })},
                  {"search.page_size", "500", "_count of source search pages",
                   IntField([](Config& c,
                               int64_t n) { c.migration.search.page_size = static_cast<int>(n); },
                            1, 10000)},
                  {"bulk.level", "system", "$export level: system, patient or group",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "system" && v != "patient" && v != "group")
                       return Bad("use system, patient or group");
                     c.migration.bulk.level = v;
                     return base::Ok();
                   }},
                  {"bulk.group_id", "", "Group id for bulk.level = group",
                   StringField(
                       [](Config& c, const std::string& v) { c.migration.bulk.group_id = v; })},
                  {"bulk.method", "get",
                   "$export kick-off: get (query parameters) or post (Parameters body)",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "get" && v != "post") return Bad("use get or post");
                     c.migration.bulk.post = v == "post";
                     return base::Ok();
                   }},
                  {"bulk.upper_bound_param", "_till",
                   "upper-bound parameter: _till (Azure), _until (Bulk Data 3.0) or none (windows "
                   "then end at "
                   "the export's transactionTime)",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "_till" && v != "_until" && v != "none")
                       return Bad("use _till, _until or none");
                     c.migration.bulk.upper_bound_param = v == "none" ? "" : v;
                     return base::Ok();
                   }},
                  {"bulk.upper_bound_inclusive", "false",
                   "the server compares the upper bound with le (Azure): send till - 1 ms",
                   BoolField(
                       [](Config& c, bool b) { c.migration.bulk.upper_bound_inclusive = b; })},
                  {"bulk.type_filter", "",
                   "_typeFilter values, e.g. Observation?status=final (comma list; a comma inside "
                   "one filter is written %2C)",
                   ListField(
                       [](Config& c, auto v) { c.migration.bulk.type_filter = std::move(v); })},
                  {"bulk.include_associated_data", "", "includeAssociatedData values (comma list)",
                   ListField([](Config& c, auto v) {
                     c.migration.bulk.include_associated_data = std::move(v);
                   })},
                  {"bulk.extra_params", "",
                   "extra kick-off parameters, name=value comma list (e.g. _maxCount=5000)",
                   [](Config& c, const std::string& v) -> Status {
                     c.migration.bulk.extra_params.clear();
                     for (auto part : base::Split(v, ',')) {
                       auto t = base::Trim(part);
                       if (t.empty()) continue;
                       auto eq = t.find('=');
                       if (eq == std::string_view::npos || eq == 0)
                         return Bad("'" + std::string(t) + "' is not name=value");
                       c.migration.bulk.extra_params.emplace_back(std::string(t.substr(0, eq)),
                                                                  std::string(t.substr(eq + 1)));
                     }
                     return base::Ok();
                   }},
                  {"bulk.parallel_downloads", "4", "export files downloaded at the same time",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.bulk.parallel_downloads = static_cast<int>(n);
                       },
                       1, 64)},
                  {"bulk.pipeline", "true",
                   "load each export file as soon as it is staged while later files download "
                   "(false: stage the whole window first)",
                   BoolField([](Config& c, bool b) { c.migration.bulk.pipeline = b; })},
                  {"bulk.poll_interval", "1s", "first delay between export status polls (doubles)",
                   DurationField(
                       [](Config& c, base::Millis d) { c.migration.bulk.poll_interval = d; },
                       base::Millis(10))},
                  {"bulk.max_poll_interval", "5m",
                   "longest delay between polls; a longer Retry-After is clamped to it (and "
                   "logged)",
                   DurationField(
                       [](Config& c, base::Millis d) { c.migration.bulk.max_poll_interval = d; }, base::
                                                                                                      Millis(
                                                                                                          10))},
                  {"bulk.delete_status_url", "true",
                   "DELETE the export status URL once every file is staged (passthrough "
                   "staging: once the window's imports are done), and an abandoned job's "
                   "when a window is exported again",
                   BoolField([](Config& c, bool b) { c.migration.bulk.delete_status_url = b; })},
                  {"import.mode", "IncrementalLoad",
                   "$import mode: IncrementalLoad (keeps meta) or InitialLoad",
                   [](Config& c, const std::string& v) -> Status {
                     if (v == "IncrementalLoad" || v == "InitialLoad") {
                       c.migration.import.mode = v;
                       return base::Ok();
                     }
                     return Bad("'" + v +
                                "' is not supported (use IncrementalLoad or InitialLoad)");
                   }},
                  {"import.files_per_request", "10000", "input files per $import request",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.import.files_per_request = static_cast<int>(n);
                       },
                       1, 10000)},
                  {"import.parallel_imports", "5", "$import jobs in flight",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.import.parallel_imports = static_cast<int>(n);
                       },
                       1, 100)},
                  {"staging.kind", "local",
                   "where $import reads staged files: local, passthrough, serve or azure-blob",
                   [](Config& c, const std::string& v) -> Status {
                     if (v == "local" || v == "passthrough" || v == "serve" || v == "azure-blob") {
                       c.migration.import.staging_kind = v;
                       return base::Ok();
                     }
                     return Bad("'" + v +
                                "' is not supported (use local, passthrough, serve or azure-blob)");
                   }},
                  {"staging.serve_address",
                   "", "staging.kind = serve: host:port the file server listens on",
                   StringField(
                       [](Config& c, const std::string& v) {
                         c.migration.import.serve_address = v;
                       })},
                  {"staging.azure_container_url",
                   "", "staging.kind = azure-blob: <account endpoint>/<container>",
                   UrlField(
                       [](Config& c, const std::string& v) {
                         c.migration.import.azure_container_url = v;
                       })},
                  {"staging.azure_account", "", "staging.kind = azure-blob: storage account name",
                   StringField(
                       [](Config& c, const std::string& v) {
                         c.migration.import.azure_account = v;
                       })},
                  {"staging.azure_key_env", "",
                   "environment variable holding the account's Shared Key (never given on the "
                   "command line)",
                   StringField(
                       [](Config& c, const std::string& v) {
                         c.migration.import.azure_key_env = v;
                       })},
                  {"staging.azure_sas_env", "",
                   "environment variable holding a container SAS token (used instead of the "
                   "key; $import then reads with it)",
                   StringField(
                       [](Config& c, const std::string& v) {
                         c.migration.import.azure_sas_env = v;
                       })},
                  {"staging.sas_expiry", "24h",
                   "lifetime of the read-only SAS URLs handed to $import",
                   DurationField([](Config& c, base::
                                                   Millis d) { c.migration.import.sas_expiry = d; },
                                 base::Millis(60'000))},
                  {"staging.dir", "",
                   "where export files are staged (0700); empty = \"staging\" next to the state "
                   "file",
                   StringField(
                       [](Config& c, const std::string& v) { c.migration.bulk.staging_dir = v; })},
                  {"staging.keep_files", "false",
                   "keep staged files after they are loaded (debugging)",
                   BoolField([](Config& c, bool b) { c.migration.bulk.keep_files = b; })},
                  {"rest.batch_size", "100", "entries per destination Bundle",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.rest.batch_size = static_cast<int>(n);
                       },
                       1, 10000)},
                  {"rest.concurrency", "4", "Bundles in flight to the destination",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.rest.concurrency = static_cast<int>(n);
                       },
                       1, 256)},
                  {"rest.bundle", "batch", "Bundle type: batch or transaction",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "batch" && v != "transaction") return Bad("use batch or transaction");
                     c.migration.rest.transaction = v == "transaction";
                     return base::Ok();
                   }},
                  {"rest.max_entry_retries", "3",
                   "re-sends of an entry answered 429/5xx before the window fails",
                   IntField(
                       [](Config& c, int64_t n) {
                         c.migration.rest.max_entry_retries = static_cast<int>(n);
                       },
                       0, 100)},
                  {"state.path", "fhir-migrate.db", "SQLite state file (created 0600)",
                   StringField([](Config& c, const std::string& v) { c.state_path = v; })},
                  {"http.timeout", "5m",
                   "whole-request timeout of every request but streamed export downloads; also "
                   "bounds the start-up check of both servers",
                   DurationField([](Config& c, base::Millis d) { c.http_timeout = d; },
                                 base::Millis(1000))},
                  {"http.max_attempts", "8", "tries per request on 429/5xx/network errors",
                   IntField(
                       [](Config& c, int64_t n) { c.retry.max_attempts = static_cast<int>(n); },
                       1, 100)},
                  {"http.max_retry_after", "5m",
                   "a longer Retry-After is clamped to this (and logged)",
                   DurationField([](Config& c, base::Millis d) { c.retry.max_retry_after = d; })},
                  {"http.max_backoff", "60s", "longest computed backoff between tries",
                   DurationField([](Config& c, base::Millis d) { c.retry.max_backoff = d; })},
                  {"http.ca_bundle", "", "PEM file of extra trusted CAs",
                   StringField([](Config& c, const std::string& v) { c.curl.ca_bundle = v; })},
                  {"http.insecure", "false",
                   "DANGER: skip TLS verification (warned on every start)",
                   BoolField([](Config& c, bool b) { c.insecure = b; })},
                  {"log.level", "info", "trace, debug, info, warn, error",
                   [](Config& c, const std::string& v) -> Status {
                     if (v != "trace" && v != "debug" && v != "info" && v != "warn" &&
                         v != "error") {
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
                  {"security.allowed_origins", "",
                   "storage origins (comma list, e.g. https://acct.blob.core.windows.net or "
                   "https://*.blob.core.windows.net) that bulk status and file URLs may use "
                   "besides the "
                   "server's own",
                   ListField([](Config& c, auto v) { c.allowed_origins = std::move(v); })},
                  {"verify.types", "",
                   "types the verify checks compare (comma list); empty = migration.types, "
                   "or every type with data on either side",
                   ListField([](Config& c, auto v) { c.verify.types = std::move(v); })},
                  {"verify.ignore", "/meta/versionId,/meta/lastUpdated,/meta/source",
                   "JSON Pointers left out when verify compares resources (deep and full checks)",
                   [](Config& c, const std::string& v) -> Status {
                     std::vector<std::string> items;
                     for (auto part : base::Split(v, ',')) {
                       auto t = base::Trim(part);
                       if (t.empty()) continue;
                       if (t[0] != '/')
                         return Bad("'" + std::string(t) +
                                    "' is not a JSON Pointer (starts with /)");
                       items.emplace_back(t);
                     }
                     c.verify.ignore = std::move(items);
                     return base::Ok();
                   }},
                  {"verify.history", "false",
                   "surface check: also compare _history counts (skipped where a server lacks type "
                   "history)",
                   BoolField([](Config& c, bool b) { c.verify.history = b; })},
                  {"verify.page_size", "1000", "_count of the pages the full check reads",
                   IntField([](Config& c, int64_t n) { c.verify.page_size = static_cast<int>(n); },
                            1, 10000)},
                  {"verify.spill_dir", "",
                   "directory of the full check's temporary file; empty = $TMPDIR or /tmp",
                   StringField([](Config& c, const std::string& v) { c.verify.spill_dir = v; })},
                  {"verify.full_via", "auto",
                   "how the full check reads each side: auto ($export where the server advertises "
                   "system $export, else search paging), export ($export even when not "
                   "advertised) or search; a failed $export falls back to search",
                   [](Config& c, const std::string& v) -> Status {
                     FM_ASSIGN_OR_RETURN(c.verify.full_via, verify::ParseFullVia(v));
                     return base::Ok();
                   }},
              };
  static const std::vector<Key> all = [] {
    std::vector<Key> out = keys;
    AddAuthKeys(out, "source", &Config::source);
    AddAuthKeys(out, "destination", &Config::destination);
    return out;
  }();
  return all;
}

const Key* FindKey(const std::string& name) {
  for (const auto& k : Keys()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

// A key that would carry a secret value itself (client_secret, password, ...).
bool IsSecretKey(const std::string& key) {
  std::string last = key.substr(key.rfind('.') + 1);
  for (const char* word : {"secret", "client_secret", "password", "token", "access_token",
                           "private_key", "assertion", "api_key", "sas"}) {
    if (last == word) return true;
  }
  return false;
}

Status Apply(Config& config, const std::string& key, const std::string& value,
             const std::string& origin) {
  const Key* k = FindKey(key);
  if (!k && IsSecretKey(key)) {
    return Bad(origin + ": '" + key +
               "': secrets are never taken from the command line, the environment override or "
               "the config file; name an environment variable (" +
               key + "_env) or a file (" + key + "_file) that holds it");
  }
  if (!k) {
    std::vector<std::string> names;
    for (const auto& candidate : Keys()) names.emplace_back(candidate.name);
    std::string nearest = base::Nearest(key, names);
    return Bad(origin + ": unknown configuration key '" + key + "'" +
               (nearest.empty() ? std::string(" (`fhir-migrate init --reference` lists every key)")
                                : " (did you mean '" + nearest + "'?)"));
  }
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

// [section] and nested [section.sub] tables (e.g. [source.auth]).
Status ApplyTable(Config& config, const toml::table& table, const std::string& prefix,
                  const std::string& path, int depth) {
  for (const auto& [name, value] : table) {
    std::string key = prefix + "." + std::string(name.str());
    if (const toml::table* sub = value.as_table()) {
      if (depth >= 3) return Bad(path + ": " + key + ": tables nested too deeply");
      FM_TRY_STATUS(ApplyTable(config, *sub, key, path, depth + 1));
      continue;
    }
    auto text = NodeText(value);
    if (!text) return Bad(path + ": " + key + ": unsupported value type");
    FM_TRY_STATUS(Apply(config, key, *text, path));
  }
  return base::Ok();
}

// TOML forbids control characters other than tab and newlines: refuse them
// with the line number before parsing (binary junk gets a clear error). Every
// key of this config is ASCII, so non-ASCII text is refused outside strings
// and comments too: it can only be a mistake, and it keeps malformed Unicode
// away from the TOML library's parser, which fuzzing showed to misbehave on it.
Status CheckControlCharacters(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad(path + ": cannot read the configuration file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (1u << 20)) return Bad(path + ": larger than 1 MiB");
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In state = In::kCode;
  const std::string_view kTripleQuote = "\"\"\"", kTripleApostrophe = "'''";
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    std::string_view rest(text.data() + i, text.size() - i);
    if (u == '\n') {
      ++line;
      if (state == In::kComment) state = In::kCode;
    }
    if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7F) {
      return Bad(path + ":" + std::to_string(line) + ": control character " + std::to_string(u) +
                 " is not allowed in TOML");
    }
    switch (state) {
      case In::kCode:
        if (u >= 0x80) {
          return Bad(path + ":" + std::to_string(line) +
                     ": non-ASCII text outside a quoted string or comment");
        }
        if (u == '#') {
          state = In::kComment;
        } else if (rest.substr(0, 3) == kTripleQuote) {
          state = In::kMultiBasic;
          i += 2;
        } else if (rest.substr(0, 3) == kTripleApostrophe) {
          state = In::kMultiLiteral;
          i += 2;
        } else if (u == '"') {
          state = In::kBasic;
        } else if (u == '\'') {
          state = In::kLiteral;
        }
        break;
      case In::kBasic:
        if (u == '\\') {
          ++i;  // skip the escaped character
        } else if (u == '"' || u == '\n') {
          state = In::kCode;
        }
        break;
      case In::kLiteral:
        if (u == '\'' || u == '\n') state = In::kCode;
        break;
      case In::kMultiBasic:
        if (u == '\\') {
          ++i;
        } else if (rest.substr(0, 3) == kTripleQuote) {
          state = In::kCode;
          i += 2;
        }
        break;
      case In::kMultiLiteral:
        if (rest.substr(0, 3) == kTripleApostrophe) {
          state = In::kCode;
          i += 2;
        }
        break;
      case In::kComment:
        break;
    }
  }
  return base::Ok();
}

Status ApplyFile(Config& config, const std::string& path) {
  FM_TRY_STATUS(CheckControlCharacters(path));
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
    FM_TRY_STATUS(ApplyTable(config, *inner, std::string(section.str()), path, 1));
  }
  return base::Ok();
}

bool ReadableByOthers(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO));
}

// Warns when secrets (or the config naming them) can be read by other users.
void AddPermissionWarnings(Config& config) {
  bool has_auth = false;
  for (const ServerConfig* server : {&config.source, &config.destination}) {
    const auth::AuthOptions& a = server->auth;
    if (a.kind != "none") has_auth = true;
    for (const std::string* file :
         {&a.client_secret_file, &a.token_file, &a.password_file, &a.private_key_file}) {
      if (ReadableByOthers(*file)) {
        config.warnings.push_back("secret file " + *file +
                                  " is readable by group or others: chmod 600 it");
      }
    }
  }
  if (has_auth && !config.config_file.empty() && ReadableByOthers(config.config_file)) {
    config.warnings.push_back("config file " + config.config_file +
                              " configures credentials and is readable by group or others: "
                              "chmod 600 it");
  }
}

}  // namespace

std::string ConfigOrigin(const Config& config) {
  if (config.config_file.empty()) return "no config file, defaults + environment";
  return "config file " + config.config_file + " (then environment and -o)";
}

std::string EnvName(const std::string& key) {
  std::string out = "FHIR_MIGRATE_";
  for (char ch : key) out += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
  return out;
}

namespace {

base::Result<Config> LoadConfigFrom(const ConfigSources& sources) {
  Config config;
  for (const auto& k : Keys()) {
    FM_TRY_STATUS(Apply(config, k.name, k.default_value, "default"));
  }
  std::optional<std::string> file = sources.file;
  if (!file && sources.discover && !sources.discover_path.empty()) {
    struct stat st {};
    if (::stat(sources.discover_path.c_str(), &st) == 0) file = sources.discover_path;
  }
  if (file) {
    FM_TRY_STATUS(ApplyFile(config, *file));
    config.config_file = *file;
  }
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
  const std::string where = file ? "config file " + *file + ", " : "a config file (-c), ";
  if (config.source.url.empty() && sources.require_servers) {
    return Bad("source.url is required (" + where + EnvName("source.url") +
               " or -o source.url=...)");
  }
  if (config.destination.url.empty() && sources.require_servers) {
    return Bad("destination.url is required (" + where + EnvName("destination.url") +
               " or -o destination.url=...)");
  }
  if (!config.source.url.empty() && config.source.url == config.destination.url) {
    return Bad("source.url and destination.url are the same server");
  }
  if (config.migration.plan.start && config.migration.plan.end &&
      *config.migration.plan.end <= *config.migration.plan.start) {
    return Bad("migration.end must be after migration.start");
  }
  if (config.migration.load == migrate::LoadMode::kImport &&
      config.migration.extract != migrate::ExtractMode::kBulk) {
    return Bad("migration.load = import requires migration.extract = bulk");
  }
  if (config.migration.plan.min_window > config.migration.plan.window) {
    return Bad("migration.window (" + base::FormatDuration(config.migration.plan.window) +
               ") is shorter than migration.min_window (" +
               base::FormatDuration(config.migration.plan.min_window) +
               "): lengthen the window or lower min_window");
  }
  FM_TRY_STATUS(auth::ValidateAuthOptions(config.source.auth, "source.auth"));
  FM_TRY_STATUS(auth::ValidateAuthOptions(config.destination.auth, "destination.auth"));
  for (const auto& origin : config.allowed_origins) {
    if (!base::StartsWith(origin, "https://") && !base::StartsWith(origin, "http://")) {
      return Bad("security.allowed_origins: '" + origin + "' is not an http(s) origin");
    }
  }
  AddPermissionWarnings(config);
  config.curl.verify_tls = !config.insecure;
  config.curl.request_timeout = config.http_timeout;
  return config;
}

}  // namespace

base::Result<Config> LoadConfig(const ConfigSources& sources) {
  auto config = LoadConfigFrom(sources);
  // Whatever the check that refused it (a key's parser, auth validation):
  // a configuration error (exit code 2).
  if (!config.ok()) config.error().kind = ErrorKind::kConfig;
  return config;
}

std::string ExampleConfig() {
  std::string out =
      "# fhir-migrate configuration. Every key can also be set with an environment\n"
      "# variable (FHIR_MIGRATE_<SECTION>_<KEY>) or a flag (-o section.key=value).\n"
      "# Secrets never go here or on the command line.\n";
  // One [section] each, in order of first appearance (TOML forbids a table
  // defined twice), whatever the order of the table above.
  std::vector<std::string> sections;
  for (const auto& k : Keys()) {
    std::string name = k.name;
    std::string sec = name.substr(0, name.rfind('.'));  // [source.auth] for source.auth.kind
    if (std::find(sections.begin(), sections.end(), sec) == sections.end()) sections.push_back(sec);
  }
  for (const auto& section : sections) {
    out += "\n[" + section + "]\n";
    for (const auto& k : Keys()) {
      std::string name = k.name;
      if (name.substr(0, name.rfind('.')) != section) continue;
      std::string key = name.substr(name.rfind('.') + 1);
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
