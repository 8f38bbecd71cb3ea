// Stable exit codes, documented in docs/errors.md (a test checks the table
// there against this file and ExitCodeFor). Never renumber.
#pragma once

#include "base/result.h"

namespace fm::cli {

enum ExitCode : int {
  kExitOk = 0,            // done (also: stopped gracefully by SIGINT/SIGTERM)
  kExitFailure = 1,       // unexpected failure (a bug or an unclassified error)
  kExitUsage = 2,         // bad command line or configuration; another migration's state file
  kExitUnreachable = 3,   // a server cannot be reached (DNS, connect, TLS) or is not FHIR
  kExitUnauthorized = 4,  // a server refused our credentials (401/403)
  kExitHalted = 5,        // a window failed max_attempts times; see `status`, `clear-halt`
  kExitDiscrepancy = 6,   // verification found differences
  kExitState = 7,         // the state store or the staging directory cannot be written
  kExitWithFailures = 8,  // the run finished, but resources sit in the failures table
  kExitLocked = 9,        // another fhir-migrate holds the state file
};

// Every code, in order.
inline constexpr ExitCode kAllExitCodes[] = {
    kExitOk,     kExitFailure,     kExitUsage, kExitUnreachable,  kExitUnauthorized,
    kExitHalted, kExitDiscrepancy, kExitState, kExitWithFailures, kExitLocked,
};

// The exit code an error ends the program with: a switch on its kind.
int ExitCodeFor(const base::Error& error);

}  // namespace fm::cli
