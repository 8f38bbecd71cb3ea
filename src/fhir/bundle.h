// Batch Bundles built from raw resource bytes (no re-serialisation), and the
// parsing of their responses and of OperationOutcomes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace fm::fhir {

struct BundleEntry {
  std::string method;              // PUT | POST | DELETE
  std::string url;                 // "Patient/123"
  std::string_view resource_json;  // empty for DELETE; must outlive the build call
};

// {"resourceType":"Bundle","type":"batch","entry":[{"resource":<raw>,"request":{...}}]}
// The resource bytes are copied verbatim.
std::string BuildBundle(const std::vector<BundleEntry>& entries, bool transaction);

struct EntryResult {
  int status = 0;  // from "200 OK", "201", ...
  std::string location;
  std::string diagnostics;   // from response.outcome, when present
  std::string outcome_json;  // raw OperationOutcome, when present
};

// Parses a batch-response / transaction-response Bundle. kInvalidData when
// the shape is wrong or the entry count differs from `expected_entries`.
base::Result<std::vector<EntryResult>> ParseBundleResponse(std::string_view body,
                                                           size_t expected_entries);

struct OutcomeIssue {
  std::string severity;
  std::string code;
  std::string diagnostics;  // diagnostics, else details.text
  std::string expression;   // the first of expression[], else of location[]: what it concerns
};

// kInvalidData when the text is not an OperationOutcome.
base::Result<std::vector<OutcomeIssue>> ParseOperationOutcome(std::string_view body);

// "error/processing: diag1; warning/informational: diag2" (bounded length).
std::string SummarizeOutcome(const std::vector<OutcomeIssue>& issues);

// True when any issue has a code of the IssueType "transient" family
// (transient, lock-error, no-store, exception, timeout, incomplete, throttled):
// the server says to try again later.
bool IsTransientOutcome(const std::vector<OutcomeIssue>& issues);

// True when `body` is an OperationOutcome with issues and none of them is
// transient: a 4xx/5xx carrying it says the request (or job) failed for good.
bool IsFailedForGood(std::string_view body);

}  // namespace fm::fhir
