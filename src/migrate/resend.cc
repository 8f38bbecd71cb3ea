#include "migrate/resend.h"

#include <algorithm>
#include <cstdint>

#include "fhir/bundle.h"
#include "json/resource.h"

namespace fm::migrate {
namespace {

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// A Bundle refused as a whole for a reason that may lie in one entry.
bool IsPerEntryRefusal(const base::Error& e) {
  return e.http_status == 400 || e.http_status == 409 || e.http_status == 412 ||
         e.http_status == 413 || e.http_status == 422;
}

}  // namespace

Resender::Resender(fhir::Client& source, fhir::Client& destination, ResendOptions options,
                   ResendHook on_outcome)
    : source_(source),
      destination_(destination),
      options_(std::move(options)),
      on_outcome_(std::move(on_outcome)) {}

base::Status Resender::Add(const std::string& type, const std::string& id) {
  queued_.emplace_back(type, id);
  if (queued_.size() >= static_cast<size_t>(std::max(1, options_.batch_size))) return Flush();
  return base::Ok();
}

base::Status Resender::Finish() { return Flush(); }

base::Status Resender::Flush() {
  std::vector<Item> items;
  for (const auto& [type, id] : queued_) {
    FM_ASSIGN_OR_RETURN(auto current, source_.Read(type, id));
    if (!current) {
      if (options_.propagate_deletes) {
        items.push_back({type, id, ""});
      } else {
        ResendOutcome o{type,
                        id,
                        ResendOutcome::Kind::kGoneOnSource,
                        0,
                        "deleted on the source since; not sent (migration.propagate_deletes is "
                        "off)",
                        ""};
        on_outcome_(o);
      }
      continue;
    }
    std::string json = std::move(*current);
    if (options_.rewrite_references && !options_.source_base_url.empty()) {
      json = json::RewriteAbsoluteReferences(json, options_.source_base_url);
    }
    items.push_back({type, id, std::move(json)});
  }
  queued_.clear();
  if (items.empty()) return base::Ok();
  return Send(items);
}

base::Status Resender::Send(std::vector<Item>& items) {
  std::vector<fhir::BundleEntry> entries;
  entries.reserve(items.size());
  for (const Item& item : items) {
    entries.push_back({item.json.empty() ? "DELETE" : "PUT", item.type + "/" + item.id, item.json});
  }
  auto body = destination_.PostBundle(fhir::BuildBundle(entries, /*transaction=*/false));
  if (!body.ok()) {
    const base::Error& e = body.error();
    if (!IsPerEntryRefusal(e)) return e;
    if (items.size() > 1) {
      for (Item& item : items) {
        std::vector<Item> one{std::move(item)};
        FM_TRY_STATUS(Send(one));
      }
      return base::Ok();
    }
    on_outcome_(
        {items[0].type, items[0].id, ResendOutcome::Kind::kRefused, e.http_status, e.message, ""});
    return base::Ok();
  }
  auto results = fhir::ParseBundleResponse(*body, items.size());
  if (!results.ok()) {
    return base::MakeError(
        base::ErrorKind::kInvalidData,
        destination_.name() + " answered a Bundle badly: " + results.error().message);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const fhir::EntryResult& r = (*results)[i];
    const Item& item = items[i];
    const bool deletion = item.json.empty();
    ResendOutcome o;
    o.type = item.type;
    o.id = item.id;
    o.http_status = r.status;
    if (IsSuccess(r.status) || (deletion && (r.status == 404 || r.status == 410))) {
      o.kind = deletion ? ResendOutcome::Kind::kDeleted : ResendOutcome::Kind::kSent;
      o.reason = deletion ? "deleted on the source since; deleted on the destination"
                          : "sent the source's current version";
    } else {
      o.kind = ResendOutcome::Kind::kRefused;
      o.reason = r.diagnostics.empty()
                     ? destination_.name() + " answered " + std::to_string(r.status)
                     : r.diagnostics;
      o.outcome_json = r.outcome_json;
    }
    on_outcome_(o);
  }
  return base::Ok();
}

base::Result<OpenFailures> LoadOpenFailures(store::StateStore& store) {
  FM_ASSIGN_OR_RETURN(auto failures, store.ListFailures(false, SIZE_MAX));
  OpenFailures open;
  for (auto& f : failures) {
    std::string key = f.resource_type + "/" + f.resource_id;
    open[key].push_back(std::move(f));
  }
  return open;
}

base::Status RecordResendOutcome(store::StateStore& store, OpenFailures& open,
                                 const ResendOutcome& outcome, base::Instant at,
                                 const std::string& new_stage) {
  const std::string key = outcome.type + "/" + outcome.id;
  auto it = open.find(key);
  if (it == open.end()) {
    if (outcome.delivered() || new_stage.empty()) return base::Ok();
    store::Failure f;
    f.stage = new_stage;
    f.resource_type = outcome.type;
    f.resource_id = outcome.id;
    f.http_status = outcome.http_status;
    f.reason = outcome.reason;
    f.outcome_json = outcome.outcome_json;
    f.at = at;
    return store.AddFailure(f);
  }
  FM_TRY_STATUS(store.Transaction([&]() -> base::Status {
    for (const store::Failure& f : it->second) {
      store::FailureAttempt attempt;
      attempt.failure_id = f.id;
      attempt.at = at;
      attempt.outcome = outcome.delivered() ? "resolved" : "failed";
      attempt.http_status = outcome.http_status;
      attempt.reason = outcome.reason;
      FM_TRY_STATUS(store.RecordFailureAttempt(attempt));
    }
    return base::Ok();
  }));
  if (outcome.delivered()) open.erase(it);
  return base::Ok();
}

}  // namespace fm::migrate
