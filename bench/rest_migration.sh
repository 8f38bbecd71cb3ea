#!/usr/bin/env bash
# Migrates N generated resources between two local test FHIR servers over the
# REST path (search + batch PUT) and prints resources/s and peak RSS.
# Usage: bench/rest_migration.sh [N ...]   (default 50000)
source "$(dirname "$0")/lib.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(50000)
printf '%-10s %10s %14s %14s\n' resources seconds resources/s peak_rss_MB
for n in "${sizes[@]}"; do
  src="$(start_server "src-$n")"
  dst="$(start_server "dst-$n")"
  load_generated "$src" "$n" 42
  read -r secs peak < <(run_measured "$WORK/run-$n.log" "$BIN" \
    -o "source.url=$src" -o "destination.url=$dst" -o "state.path=$WORK/state-$n.db" \
    -o rest.concurrency=4 -o rest.batch_size=100 -o search.page_size=1000 run --once)
  awk -v n="$n" -v s="$secs" -v p="$peak" \
    'BEGIN { printf "%-10d %10.2f %14.0f %14.1f\n", n, s, n / s, p / 1024 }'
done
