#!/usr/bin/env bash
# Installs, builds (ASan+UBSan preset) and runs every test, including the
# integration tests against real FHIR servers that the tests start and stop
# themselves on loopback. Also builds the release tree and runs a short fuzz pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
export FM_NODE="$(cat .deps/node-path)"
preset="${FM_TEST_PRESET:-asan}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --preset "$preset" -j "${FM_TEST_JOBS:-2}" --timeout 900
if [[ -x scripts/fuzz.sh && "${FM_SKIP_FUZZ:-0}" != 1 ]]; then
  # A short, reproducible pass: fixed seed, fixed number of inputs per target.
  FM_FUZZ_SEED="${FM_FUZZ_SEED:-1}" FM_FUZZ_RUNS="${FM_FUZZ_RUNS:-20000}" \
    bash scripts/fuzz.sh "${FM_FUZZ_SECONDS:-20}"
fi
