#include "fhir/history.h"

#include <nlohmann/json.hpp>

#include "json/resource.h"

namespace fm::fhir {
namespace {

base::Error NotHistory(const std::string& why) {
  return base::MakeError(base::ErrorKind::kInvalidData, "history page: " + why);
}

base::Result<HistoryPage> Fetch(Client& client, http::Request request) {
  auto response = client.Check("GET history", client.SendRaw(std::move(request)));
  if (!response.ok()) return response.error();
  return ParseHistoryDeletions(response->body);
}

}  // namespace

base::Result<HistoryPage> ParseHistoryDeletions(std::string_view body) {
  FM_TRY_STATUS(json::CheckNesting(body));
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return NotHistory("not JSON");
  if (doc.value("resourceType", "") != "Bundle") return NotHistory("not a Bundle");
  HistoryPage page;
  if (auto links = doc.find("link"); links != doc.end() && links->is_array()) {
    for (const auto& l : *links) {
      if (l.is_object() && l.value("relation", "") == "next" && l.contains("url") &&
          l["url"].is_string()) {
        page.next_url = l["url"].get<std::string>();
      }
    }
  }
  auto entries = doc.find("entry");
  if (entries == doc.end() || !entries->is_array()) return page;
  for (const auto& e : *entries) {
    if (!e.is_object()) continue;
    auto req = e.find("request");
    if (req == e.end() || !req->is_object() || req->value("method", "") != "DELETE") continue;
    std::string url = req->value("url", "");
    if (auto q = url.find('?'); q != std::string::npos) url.resize(q);
    auto parts = url.rfind('/');
    if (parts == std::string::npos) continue;
    // "Patient/123" or ".../Patient/123"
    auto type_start = url.rfind('/', parts - 1);
    HistoryDeletion d;
    d.type = url.substr(type_start == std::string::npos ? 0 : type_start + 1,
                        parts - (type_start == std::string::npos ? 0 : type_start + 1));
    d.id = url.substr(parts + 1);
    if (auto resp = e.find("response"); resp != e.end() && resp->is_object()) {
      std::string lm = resp->value("lastModified", "");
      if (!lm.empty()) {
        if (auto t = base::ParseInstant(lm); t.ok()) d.at = *t;
      }
    }
    page.deletions.push_back(std::move(d));
  }
  return page;
}

base::Result<HistoryPage> HistoryFirst(Client& client, const std::string& type, base::Instant since,
                                       int count) {
  http::Request r;
  r.url = client.Url(type + "/_history",
                     {{"_since", base::FormatInstant(since)}, {"_count", std::to_string(count)}});
  return Fetch(client, std::move(r));
}

base::Result<HistoryPage> HistoryNext(Client& client, const std::string& next_url) {
  FM_TRY_STATUS(client.CheckLinkOrigin(next_url));
  http::Request r;
  r.url = next_url;
  return Fetch(client, std::move(r));
}

}  // namespace fm::fhir
