// Deletions from type-level history (`GET [type]/_history?_since=...`): the
// portable way to see hard deletes on a server without Bulk Data deleted[].
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "fhir/client.h"

namespace fm::fhir {

struct HistoryDeletion {
  std::string type;
  std::string id;
  std::optional<base::Instant> at;  // response.lastModified
};

struct HistoryPage {
  std::vector<HistoryDeletion> deletions;  // entries with request.method DELETE
  std::optional<std::string> next_url;
};

// Parses one history Bundle; kInvalidData when it is not a history Bundle.
base::Result<HistoryPage> ParseHistoryDeletions(std::string_view body);

// First page: [base]/[type]/_history?_since=<since>&_count=<count>.
base::Result<HistoryPage> HistoryFirst(Client& client, const std::string& type,
                                       base::Instant since, int count);
base::Result<HistoryPage> HistoryNext(Client& client, const std::string& next_url);

}  // namespace fm::fhir
