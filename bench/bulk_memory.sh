#!/usr/bin/env bash
# Peak RSS of fhir-migrate while it migrates generated resources by Bulk Data
# $export (+ REST load) between two local test FHIR servers: memory must not
# grow with the size of the store (files are streamed to staging and loaded
# line by line). Prints one row per size.
# Usage: bench/bulk_memory.sh [N ...]   (default 20000 200000)
source "$(dirname "$0")/lib.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(20000 200000)
printf '%-10s %10s %14s %14s\n' resources seconds resources/s peak_rss_MB
for n in "${sizes[@]}"; do
  src="$(start_server "src-$n")"
  dst="$(start_server "dst-$n")"
  load_generated "$src" "$n" 42
  curl -sf -X POST -H 'Content-Type: application/json' \
    --data '{"retryAfterSeconds":0,"maxLinesPerFile":5000}' "$src/\$admin/faults" >/dev/null
  read -r secs peak < <(run_measured "$WORK/run-$n.log" "$BIN" \
    -o "source.url=$src" -o "destination.url=$dst" -o "state.path=$WORK/state-$n.db" \
    -o migration.extract=bulk -o bulk.poll_interval=200ms -o bulk.parallel_downloads=4 \
    -o migration.window=3650d -o migration.max_resources_per_window=100000000 \
    -o rest.concurrency=4 -o rest.batch_size=100 run --once)
  awk -v n="$n" -v s="$secs" -v p="$peak" \
    'BEGIN { printf "%-10d %10.2f %14.0f %14.1f\n", n, s, n / s, p / 1024 }'
  stop_servers
done
