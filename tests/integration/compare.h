// Reads every resource of a real test server and compares two servers.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/harness/fhir_server.h"

namespace fm::harness {

// "Type/id" → canonical JSON without the ignored pointers, for `types`.
std::map<std::string, std::string> DumpServer(FhirServer& server,
                                              const std::vector<std::string>& types,
                                              const std::vector<std::string>& ignore);

// Human-readable differences (missing, extra, changed); empty when equal.
std::vector<std::string> CompareServers(FhirServer& a, FhirServer& b,
                                        const std::vector<std::string>& types,
                                        const std::vector<std::string>& ignore = {
                                            "/meta/versionId", "/meta/lastUpdated"});

// "Nothing loaded twice", from the destination's own history rather than the
// tool's counters: the test server's GET /fhir/$admin/versions, how many
// versions it stored of every resource it holds or held ("Type/id" → n; what
// each resource's _history totals). Every PUT stores a version, identical
// content or not, so a resource sent twice has two.
using Versions = std::map<std::string, int>;
Versions VersionCounts(FhirServer& server);

// "Type/id: n versions" for every resource with more than `max` versions.
std::vector<std::string> MoreVersionsThan(const Versions& versions, int max = 1);

// "Type/id: a → b versions" for every resource among `keys` whose version
// count changed from `before` to `after`: what was loaded again in between.
std::vector<std::string> LoadedAgain(const Versions& before, const Versions& after,
                                     const std::set<std::string>& keys);

// The first few entries of a list, for a failure message.
std::string FirstFew(const std::vector<std::string>& items, size_t n = 5);

// Generated NDJSON from the fhirgen binary.
std::string Generate(int count, int seed, const std::string& from, const std::string& till);

// The binary with a config pointing at the two servers; extra -o overrides
// and environment variables (added to the test's own).
RunResult RunMigrate(const std::vector<std::string>& args, FhirServer& source,
                     FhirServer& destination, const std::string& state_path,
                     const std::vector<std::string>& overrides = {},
                     const std::map<std::string, std::string>& env = {});

extern const std::vector<std::string> kGeneratedTypes;

}  // namespace fm::harness
