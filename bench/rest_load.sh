#!/usr/bin/env bash
# REST load against a minimal loader (DESIGN.md target: fhir-migrate's rate
# ≥ 0.95× a loader that POSTs pre-built batch Bundles of the same resources to
# the same server with the same concurrency). One test server; the two
# loaders alternate, RUNS times each (bench/rest_load.cc); every run PUTs the
# same resources again, so both sides meet the same growing version history.
#   bash bench/rest_load.sh [COUNT=20000] [RUNS=5] [CONCURRENCY=4] [BATCH=100]
source "$(dirname "$0")/lib.sh"
count="${1:-20000}"
runs="${2:-5}"
concurrency="${3:-4}"
batch="${4:-100}"
if [[ -z "${FM_BENCH_BUILD:-}" ]]; then
  cmake --build --preset release --target rest_load >/dev/null
fi
dst="$(start_server dst)"
"$GEN" --seed 7 --count "$count" --from 2021-01-01 --till 2024-01-01 --out "$WORK/load.ndjson"
echo "REST load: $count generated resources, concurrency $concurrency, $batch per Bundle, $runs runs each"
"$BUILD/bench/rest_load" "$dst" "$WORK/load.ndjson" "$runs" "$concurrency" "$batch"
