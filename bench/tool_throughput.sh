#!/usr/bin/env bash
# Tool-only throughput: the load path's own CPU per resource, destination free.
#   bash bench/tool_throughput.sh [COUNT=200000] [RUNS=5]
source "$(dirname "$0")/lib.sh"
count="${1:-200000}"
runs="${2:-5}"
if [[ -z "${FM_BENCH_BUILD:-}" ]]; then
  cmake --build --preset release --target tool_throughput >/dev/null
fi
"$GEN" --seed 7 --count "$count" --from 2021-01-01 --till 2024-01-01 --out "$WORK/tool.ndjson"
echo "tool-only throughput, $count generated resources ($(du -m "$WORK/tool.ndjson" | cut -f1) MB), $runs runs:"
"$BUILD/bench/tool_throughput" "$WORK/tool.ndjson" "$runs"
