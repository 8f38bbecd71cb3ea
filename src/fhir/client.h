// A FHIR R4 REST client over the Transport port. It knows URLs, headers and
// response shapes; retries live in the transport it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "env/clock.h"
#include "http/transport.h"

namespace fm::fhir {

using Params = std::vector<std::pair<std::string, std::string>>;  // unencoded

struct Capabilities {
  std::string fhir_version;
  std::string software;
  std::vector<std::string> resource_types;  // from rest.resource.type
  bool system_export = false;               // operation "export" at system level
  bool patient_export = false;
  bool group_export = false;
  bool import = false;  // operation "import"
};

struct SearchPage {
  std::vector<std::string> resources;  // raw JSON of entries with search.mode=match (or none)
  std::optional<std::string> next_url;
  std::optional<int64_t> total;
};

class Client {
 public:
  // `name` ("source", "destination") appears in every error message.
  Client(std::string name, std::string base_url, http::Transport& transport, env::Clock& clock);

  const std::string& name() const { return name_; }
  const std::string& base_url() const { return base_url_; }

  // "[base]/Patient?_count=10&..." with every value percent-encoded.
  std::string Url(std::string_view path, const Params& params = {}) const;

  base::Result<Capabilities> GetCapabilities();

  // The start-up check: GetCapabilities, where anything but a
  // CapabilityStatement means there is no usable FHIR server at the base
  // URL: a 404, a 5xx, an HTML page or a body that is not a
  // CapabilityStatement become kUnreachable ("no FHIR server answers at
  // <base URL> (...)"). kUnauthorized and kCancelled pass unchanged.
  base::Result<Capabilities> ProbeCapabilities();

  // `_summary=count` total for a type ("" = system level) with extra params.
  base::Result<int64_t> Count(std::string_view type, const Params& params);

  // One search page: a relative path+params (first page) or an absolute URL
  // (a next link). kInvalidData when the body is not a searchset Bundle.
  base::Result<SearchPage> SearchFirst(std::string_view type, const Params& params);
  base::Result<SearchPage> SearchUrl(const std::string& absolute_url);
  // A paging link the server handed out: refused (kFatal, naming both
  // origins) unless it is on the server's own origin, so a misconfigured or
  // hostile server cannot point the tool at another host.
  base::Status CheckLinkOrigin(const std::string& absolute_url) const;

  // Raw resource JSON, or nullopt on 404/410.
  base::Result<std::optional<std::string>> Read(std::string_view type, std::string_view id);

  // POSTs a batch or transaction Bundle to [base]; returns the raw response
  // body (a batch-response Bundle). Non-2xx becomes an Error.
  base::Result<std::string> PostBundle(std::string bundle_json);

  // DELETE [base]/type/id; 404/410 count as success.
  base::Status Delete(std::string_view type, std::string_view id);

  // Sends with the client's default headers; any status is returned.
  base::Result<http::Response> SendRaw(http::Request request);

  // Non-2xx → Error naming this server; 2xx passes through.
  base::Result<http::Response> Check(std::string_view what, base::Result<http::Response> r);

 private:
  std::string name_;
  std::string base_url_;  // without trailing slash
  http::Transport& transport_;
  env::Clock& clock_;
};

// The parsers behind Client, public for tests, fuzzing and in-process fakes.
// Their kInvalidData messages never quote the body they were given.

// A CapabilityStatement (JSON). Export/import support is read from operations
// named export, patient-export, group-export or import at the rest level, from
// export operations on the Patient and Group resources, and from operation
// definitions whose canonical URL ends in /export, /patient-export,
// /group-export or /import (a "|version" suffix is ignored).
base::Result<Capabilities> ParseCapabilities(std::string_view capability_statement);

// One page of a search: a Bundle whose type is "searchset" or absent. The
// message of an error reads "not a searchset Bundle (<reason>)". A relative
// next link is made absolute with ResolveLink(base_url, link). With
// `keep_resources` false only total and next_url are read (counting).
// `body` is taken by value because the parser needs padding after the text.
base::Result<SearchPage> ParseSearchPage(std::string body, std::string_view base_url,
                                         bool keep_resources = true);

// A link as servers write it made absolute: "http://h/fhir/Patient?.." as is,
// "/fhir/Patient?.." against the origin of `base_url`, "?_getpages=.." and
// "Patient?.." against `base_url` itself (FHIR links are relative to the
// service base, not to the page).
std::string ResolveLink(std::string_view base_url, std::string_view link);

}  // namespace fm::fhir
