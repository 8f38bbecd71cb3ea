// Reads every resource of a real test server and compares two servers.
#pragma once

#include <map>
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
