// Sends single resources again, by type and id, from the source's current
// version: what `failures retry` does for quarantined resources and
// `verify --full --fix` for those missing or different on the destination.
// Each resource is read from the source (GET [type]/[id]) and sent in batch
// Bundles of PUTs, absolute source references made relative as the REST
// loader does. A Bundle refused as a whole is sent again one entry at a time,
// so each resource gets its own answer. Nothing is written to the state
// store: the caller records the outcomes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "fhir/client.h"
#include "store/state_store.h"

namespace fm::migrate {

struct ResendOptions {
  int batch_size = 100;            // entries per Bundle
  bool rewrite_references = true;  // absolute source references → relative
  std::string source_base_url;
  // A resource gone from the source is deleted on the destination (else it
  // is reported and not sent).
  bool propagate_deletes = false;
};

struct ResendOutcome {
  enum class Kind {
    kSent,          // the destination accepted the source's current version
    kDeleted,       // gone from the source; deleted on the destination
    kGoneOnSource,  // gone from the source; nothing sent (propagate_deletes off)
    kRefused,       // the destination refused it
  };
  std::string type;
  std::string id;
  Kind kind = Kind::kSent;
  int http_status = 0;       // the destination's answer (0 when nothing was sent)
  std::string reason;        // the server's diagnostics when refused; what happened otherwise
  std::string outcome_json;  // the OperationOutcome of a refusal, if any
  // Sent, deleted or gone: the destination now agrees with the source.
  bool delivered() const { return kind != Kind::kRefused; }
};

using ResendHook = std::function<void(const ResendOutcome&)>;

class Resender {
 public:
  // `on_outcome` hears every resource's outcome, in the order they are
  // answered (each resource exactly once).
  Resender(fhir::Client& source, fhir::Client& destination, ResendOptions options,
           ResendHook on_outcome);

  // Queues type/id; a full batch is read and sent before Add returns. An
  // error (a server that cannot be reached, a Bundle the destination answers
  // with 5xx after the transport's retries) stops the resending: resources
  // already answered have had their outcome, the rest none.
  base::Status Add(const std::string& type, const std::string& id);
  // Sends what is queued.
  base::Status Finish();

 private:
  struct Item {
    std::string type, id, json;  // json empty: a DELETE
  };
  base::Status Flush();
  base::Status Send(std::vector<Item>& items);

  fhir::Client& source_;
  fhir::Client& destination_;
  ResendOptions options_;
  ResendHook on_outcome_;
  std::vector<std::pair<std::string, std::string>> queued_;
};

// The unresolved failures of a state store, by "Type/id" (several failures
// may name one resource, e.g. from two windows).
using OpenFailures = std::map<std::string, std::vector<store::Failure>>;
base::Result<OpenFailures> LoadOpenFailures(store::StateStore& store);

// Records a resend outcome in the failures table: each unresolved failure of
// the resource gets an attempt ("resolved" when delivered, else "failed" with
// the new reason) and leaves `open` once resolved. A refused resource
// without one gets a new failure of stage `new_stage` (window 0) when
// `new_stage` is not empty.
base::Status RecordResendOutcome(store::StateStore& store, OpenFailures& open,
                                 const ResendOutcome& outcome, base::Instant at,
                                 const std::string& new_stage);

}  // namespace fm::migrate
