#!/usr/bin/env bash
# Download and load pipelined against one after the other (DESIGN.md target:
# pipelined ≤ 0.8× the time of downloading everything first). The same bulk
# migration of COUNT generated resources runs with bulk.pipeline=true (each
# export file loads as soon as it is staged) and =false (the window's files
# are all staged first), alternating RUNS times, each into a fresh destination
# with a fresh state file. DELAY_MS (default 0) makes the test server wait
# that long before every file download, standing for a source whose files
# come slower than over loopback.
#   bash bench/bulk_pipeline.sh [COUNT=50000] [RUNS=5] [DELAY_MS=0]
source "$(dirname "$0")/lib.sh"
count="${1:-50000}"
runs="${2:-5}"
delay="${3:-0}"
src="$(start_server src)"
dst="$(start_server dst)"
load_generated "$src" "$count" 42
curl -sf -X POST -H 'Content-Type: application/json' \
  --data "{\"retryAfterSeconds\":0,\"maxLinesPerFile\":2000,\"downloadDelayMs\":$delay}" \
  "$src/\$admin/faults" >/dev/null

migrate() {  # migrate PIPELINE RUN → SECS (wall seconds); the destination must end complete
  curl -sf -X POST "$dst/\$admin/reset" >/dev/null
  read -r SECS _ < <(run_measured "$WORK/run-$1-$2.log" "$BIN" \
    -o "source.url=$src" -o "destination.url=$dst" -o "state.path=$WORK/state-$1-$2.db" \
    -o migration.extract=bulk -o bulk.poll_interval=200ms -o bulk.parallel_downloads=4 \
    -o "bulk.pipeline=$1" -o migration.window=3650d \
    -o migration.max_resources_per_window=100000000 -o rest.concurrency=4 run --once)
  local total
  total="$(curl -sf "$dst/\$admin/stats" | "$NODE" -e \
    'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).totalResources))')"
  [[ "$total" == "$count" ]] || { echo "bench: the destination holds $total of $count" >&2; exit 1; }
}

echo "bulk migration of $count resources, files of 2000, download delay ${delay} ms, $runs runs each"
piped=() staged=()
for run in $(seq 1 "$runs"); do
  migrate true "$run"
  piped+=("$SECS")
  migrate false "$run"
  staged+=("$SECS")
  echo "run $run: pipelined ${piped[-1]} s, staged first ${staged[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
awk -v a="$(median "${piped[@]}")" -v b="$(median "${staged[@]}")" 'BEGIN {
  printf "median: pipelined %.2f s, staged first %.2f s; ratio %.2f (target <= 0.8)\n", a, b, a / b
}'
