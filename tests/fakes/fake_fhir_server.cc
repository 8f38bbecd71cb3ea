#include "tests/fakes/fake_fhir_server.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/time.h"

namespace fm::testing {
namespace {

using nlohmann::json;

http::Response JsonResponse(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/fhir+json"});
  r.body = body.dump();
  return r;
}

http::Response Outcome(int status, const std::string& diagnostics) {
  return JsonResponse(status, {{"resourceType", "OperationOutcome"},
                               {"issue", {{{"severity", "error"},
                                           {"code", "processing"},
                                           {"diagnostics", diagnostics}}}}});
}

std::multimap<std::string, std::string> ParseQuery(const std::string& query) {
  std::multimap<std::string, std::string> out;
  if (query.empty()) return out;
  for (auto part : base::Split(query, '&')) {
    auto eq = part.find('=');
    std::string name = base::UrlDecode(part.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : base::UrlDecode(part.substr(eq + 1));
    out.emplace(name, value);
  }
  return out;
}

}  // namespace

struct FakeFhirServer::Parsed {
  json value;
};

FakeFhirServer::FakeFhirServer(std::string base_url, env::Clock& clock)
    : base_url_(std::move(base_url)), clock_(clock) {}

void FakeFhirServer::SetOverride(Override o) {
  std::lock_guard lock(mu_);
  override_ = std::move(o);
}

int64_t FakeFhirServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeFhirServer::SetApplyBatchesReversed(bool reversed) {
  std::lock_guard lock(mu_);
  batches_reversed_ = reversed;
}

std::vector<std::string> FakeFhirServer::WriteLog() const {
  std::lock_guard lock(mu_);
  return write_log_;
}

void FakeFhirServer::StoreLocked(const std::string& text, bool keep_meta) {
  StoreLocked(Parsed{json::parse(text)}, keep_meta);
}

void FakeFhirServer::StoreLocked(Parsed parsed, bool keep_meta) {
  json& r = parsed.value;
  std::string type = r.at("resourceType");
  std::string id = r.at("id");
  auto& slot = data_[type][id];
  int version = slot.json.empty() ? 1 : slot.version + 1;
  if (keep_meta) {
    slot.last_updated_ms =
        base::ToEpochMillis(*base::ParseInstant(r.at("meta").at("lastUpdated").get<std::string>()));
  } else {
    slot.last_updated_ms = base::ToEpochMillis(clock_.Now());
    r["meta"]["lastUpdated"] = base::FormatInstant(base::FromEpochMillis(slot.last_updated_ms));
    r["meta"]["versionId"] = std::to_string(version);
  }
  slot.version = version;
  slot.json = r.dump();
}

void FakeFhirServer::Seed(const std::string& resource_json) {
  std::lock_guard lock(mu_);
  StoreLocked(resource_json, true);
}

void FakeFhirServer::Write(const std::string& resource_json) {
  std::lock_guard lock(mu_);
  StoreLocked(resource_json, false);
}

void FakeFhirServer::Remove(const std::string& type, const std::string& id) {
  std::lock_guard lock(mu_);
  if (data_[type].erase(id)) tombstones_.push_back({type, id, base::ToEpochMillis(clock_.Now())});
}

http::Response FakeFhirServer::History(const std::string& type, const std::string& query) {
  auto params = ParseQuery(query);
  int64_t since = 0;
  if (auto s = params.find("_since"); s != params.end()) {
    since = base::ToEpochMillis(*base::ParseInstant(s->second));
  }
  size_t count = 20, offset = 0;
  if (auto c = params.find("_count"); c != params.end()) count = std::stoul(c->second);
  if (auto o = params.find("_offset"); o != params.end()) offset = std::stoul(o->second);
  std::vector<const Tombstone*> hits;  // newest first, as servers answer history
  for (auto it = tombstones_.rbegin(); it != tombstones_.rend(); ++it) {
    if (it->type == type && it->at_ms >= since) hits.push_back(&*it);
  }
  json entries = json::array();
  for (size_t i = offset; i < hits.size() && i < offset + count; ++i) {
    entries.push_back({{"request", {{"method", "DELETE"}, {"url", type + "/" + hits[i]->id}}},
                       {"response", {{"status", "204"},
                                     {"lastModified", base::FormatInstant(base::FromEpochMillis(hits[i]->at_ms))}}}});
  }
  json bundle = {{"resourceType", "Bundle"}, {"type", "history"}, {"entry", entries}};
  if (offset + count < hits.size()) {
    bundle["link"] = {{{"relation", "next"},
                       {"url", base_url_ + "/" + type + "/_history?_since=" +
                                   base::UrlEncode(base::FormatInstant(base::FromEpochMillis(since))) +
                                   "&_count=" + std::to_string(count) +
                                   "&_offset=" + std::to_string(offset + count)}}};
  }
  return JsonResponse(200, bundle);
}

std::optional<std::string> FakeFhirServer::Get(const std::string& type,
                                               const std::string& id) const {
  std::lock_guard lock(mu_);
  auto t = data_.find(type);
  if (t == data_.end()) return std::nullopt;
  auto r = t->second.find(id);
  if (r == t->second.end()) return std::nullopt;
  return r->second.json;
}

std::map<std::string, std::string> FakeFhirServer::Snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [type, byid] : data_) {
    for (const auto& [id, s] : byid) out[type + "/" + id] = s.json;
  }
  return out;
}

size_t FakeFhirServer::size() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [type, byid] : data_) n += byid.size();
  return n;
}

base::Result<http::Response> FakeFhirServer::Handle(const http::Request& request) {
  std::unique_lock lock(mu_);
  ++requests_;
  if (override_) {
    auto o = override_;
    lock.unlock();
    if (auto r = o(request)) return *r;
    lock.lock();
  }
  if (!base::StartsWith(request.url, base_url_)) return Outcome(404, "unknown base");
  std::string rest = request.url.substr(base_url_.size());
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest[0] == '/') rest = rest.substr(1);
  auto parts = base::Split(rest, '/');
  if (request.method == "GET" && rest == "metadata") {
    json types = json::array();
    for (const char* t : {"Patient", "Observation", "Encounter", "Condition", "Practitioner",
                          "Organization", "MedicationRequest"}) {
      types.push_back({{"type", t}});
    }
    return JsonResponse(200, {{"resourceType", "CapabilityStatement"},
                              {"fhirVersion", "4.0.1"},
                              {"software", {{"name", "fake"}}},
                              {"rest", {{{"mode", "server"}, {"resource", types}}}}});
  }
  if (request.method == "POST" && rest.empty()) return Batch(request.body);
  if (request.method == "GET" && parts.size() == 1) return Search(std::string(parts[0]), query);
  if (parts.size() == 2 && parts[1] == "_history" && request.method == "GET") {
    return History(std::string(parts[0]), query);
  }
  if (parts.size() == 2) {
    std::string type(parts[0]), id(parts[1]);
    if (request.method == "GET") {
      auto& byid = data_[type];
      auto it = byid.find(id);
      if (it == byid.end()) return Outcome(404, "not found");
      http::Response r;
      r.status = 200;
      r.body = it->second.json;
      return r;
    }
    if (request.method == "PUT") {
      auto [status, body] = PutLocked(type, id, request.body);
      http::Response r;
      r.status = status;
      r.body = body;
      return r;
    }
    if (request.method == "DELETE") {
      write_log_.push_back("DELETE " + type + "/" + id);
      if (data_[type].erase(id)) tombstones_.push_back({type, id, base::ToEpochMillis(clock_.Now())});
      return JsonResponse(200, {{"resourceType", "OperationOutcome"}, {"issue", json::array()}});
    }
  }
  return Outcome(400, "unsupported request");
}

std::pair<int, std::string> FakeFhirServer::PutLocked(const std::string& type,
                                                      const std::string& id,
                                                      const std::string& body) {
  json r = json::parse(body, nullptr, false);
  if (r.is_discarded()) return {400, "not JSON"};
  return PutLocked(type, id, Parsed{std::move(r)});
}

std::pair<int, std::string> FakeFhirServer::PutLocked(const std::string& type,
                                                      const std::string& id, Parsed parsed) {
  json& r = parsed.value;
  if (!r.is_object()) return {400, "not JSON"};
  if (r.value("resourceType", "") != type || r.value("id", "") != id) {
    return {400, "Incorrect resource ID"};
  }
  bool existed = data_[type].count(id) > 0;
  std::string sent_version;
  if (auto m = r.find("meta"); m != r.end() && m->is_object()) {
    sent_version = m->value("versionId", "");
  }
  write_log_.push_back("PUT " + type + "/" + id + " " + sent_version);
  StoreLocked(std::move(parsed), false);
  return {existed ? 200 : 201, data_[type][id].json};
}

http::Response FakeFhirServer::Search(const std::string& type, const std::string& query) {
  auto params = ParseQuery(query);
  std::optional<int64_t> ge, lt;
  for (auto [it, end] = params.equal_range("_lastUpdated"); it != end; ++it) {
    const std::string& v = it->second;
    int64_t t = base::ToEpochMillis(*base::ParseInstant(v.substr(2)));
    if (base::StartsWith(v, "ge")) ge = t;
    if (base::StartsWith(v, "lt")) lt = t;
  }
  auto in_range = [&](const Stored& s) {
    return !(ge && s.last_updated_ms < *ge) && !(lt && s.last_updated_ms >= *lt);
  };
  const auto& byid = data_[type];
  auto summary = params.find("_summary");
  if (summary != params.end() && summary->second == "count") {
    size_t total = 0;
    for (const auto& [id, s] : byid) total += in_range(s) ? 1 : 0;
    return JsonResponse(200, {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", total}});
  }
  std::vector<std::pair<int64_t, const Stored*>> hits;  // (lastUpdated, resource), id order
  for (const auto& [id, s] : byid) {
    if (in_range(s)) hits.emplace_back(s.last_updated_ms, &s);
  }
  // Stable: ties on lastUpdated stay in id order.
  std::stable_sort(hits.begin(), hits.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t count = 20, offset = 0;
  if (auto c = params.find("_count"); c != params.end()) count = std::stoul(c->second);
  if (auto o = params.find("_offset"); o != params.end()) offset = std::stoul(o->second);
  // Built as text around the stored resources: no per-request re-parse.
  std::string body = R"({"resourceType":"Bundle","type":"searchset","total":)" +
                     std::to_string(hits.size()) + R"(,"entry":[)";
  for (size_t i = offset; i < hits.size() && i < offset + count; ++i) {
    if (i > offset) body += ',';
    body += R"({"resource":)" + hits[i].second->json + R"(,"search":{"mode":"match"}})";
  }
  body += ']';
  if (offset + count < hits.size()) {
    std::string next = base_url_ + "/" + type + "?";
    for (const auto& [k, v] : params) {
      if (k != "_offset") next += base::UrlEncode(k) + "=" + base::UrlEncode(v) + "&";
    }
    next += "_offset=" + std::to_string(offset + count);
    body += R"(,"link":[{"relation":"next","url":)" + json(next).dump() + "}]";
  }
  body += '}';
  http::Response r;
  r.status = 200;
  r.headers.push_back({"Content-Type", "application/fhir+json"});
  r.body = std::move(body);
  return r;
}

http::Response FakeFhirServer::Batch(const std::string& body) {
  json b = json::parse(body, nullptr, false);
  if (b.is_discarded() || b.value("resourceType", "") != "Bundle") {
    return Outcome(400, "not a Bundle");
  }
  const json& in = b["entry"];
  std::vector<json> responses(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = batches_reversed_ ? in.size() - 1 - k : k;
    const json& e = in[i];
    std::string method = e["request"]["method"];
    std::string url = e["request"]["url"];
    auto slash = url.find('/');
    std::string type = url.substr(0, slash), id = url.substr(slash + 1);
    json response;
    if (method == "PUT") {
      auto [status, text] = PutLocked(type, id, Parsed{e["resource"]});
      response["status"] = std::to_string(status) + (status < 300 ? " OK" : "");
      if (status >= 400) {
        response["outcome"] = {{"resourceType", "OperationOutcome"},
                               {"issue", {{{"severity", "error"}, {"code", "invalid"},
                                           {"diagnostics", text}}}}};
      }
    } else if (method == "DELETE") {
      write_log_.push_back("DELETE " + type + "/" + id);
      bool existed = data_[type].erase(id) > 0;
      response["status"] = existed ? "200 OK" : "404 Not Found";
    } else {
      response["status"] = "400 Bad Request";
    }
    responses[i] = {{"response", response}};
  }
  json entries = json::array();
  for (auto& r : responses) entries.push_back(std::move(r));
  return JsonResponse(200, {{"resourceType", "Bundle"}, {"type", "batch-response"},
                            {"entry", entries}});
}

}  // namespace fm::testing
