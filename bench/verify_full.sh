#!/usr/bin/env bash
# Full verification (every resource on both sides, hashed, spilled to a
# temporary SQLite file and joined) of N generated resources loaded into two
# local test FHIR servers; prints time, resources/s and peak RSS of
# fhir-migrate. Peak RSS must stay flat as N grows (bounded memory).
# Usage: bench/verify_full.sh [--via search|export|auto] [N ...]
#   (default: --via search, 20000 200000; the test servers offer $export, so
#   auto reads both sides by $export)
source "$(dirname "$0")/lib.sh"
via=search
if [[ "${1:-}" == "--via" ]]; then
  via="$2"
  shift 2
fi
sizes=("$@")
((${#sizes[@]})) || sizes=(20000 200000)
printf '%-10s %-14s %10s %14s %14s\n' resources read seconds resources/s peak_rss_MB
for n in "${sizes[@]}"; do
  src="$(start_server "src-$n")"
  dst="$(start_server "dst-$n")"
  load_generated "$src" "$n" 42
  load_generated "$dst" "$n" 42
  for url in "$src" "$dst"; do  # no Retry-After waits between export polls
    curl -sf -X POST -H 'Content-Type: application/json' \
      --data '{"retryAfterSeconds":0,"maxLinesPerFile":5000}' "$url/\$admin/faults" >/dev/null
  done
  start=$(date +%s.%N)
  # Peak RSS from the kernel's accounting (/usr/bin/time -f %M, kB): exact,
  # unlike polling VmHWM.
  /usr/bin/time -f '%M' -o "$WORK/rss-$n" "$BIN" \
    -o "source.url=$src" -o "destination.url=$dst" -o "state.path=$WORK/state-$n.db" \
    -o verify.page_size=1000 -o "verify.full_via=$via" -o bulk.poll_interval=200ms \
    verify --full --no-before-watermark >"$WORK/verify-$n.log" 2>&1 ||
    { cat "$WORK/verify-$n.log" >&2; exit 1; }
  end=$(date +%s.%N)
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
  peak=$(tail -n1 "$WORK/rss-$n")
  grep -q '^full check passed' "$WORK/verify-$n.log" || { cat "$WORK/verify-$n.log" >&2; exit 1; }
  read_by=$(sed -n 's/^read by: source \([a-z]*\), destination \([a-z]*\)$/\1\/\2/p' "$WORK/verify-$n.log")
  # Both sides were read: 2n resources hashed and compared.
  awk -v n="$n" -v r="$read_by" -v s="$secs" -v p="$peak" \
    'BEGIN { printf "%-10d %-14s %10.2f %14.0f %14.1f\n", n, r, s, 2 * n / s, p / 1024 }'
  stop_servers  # each size starts with fresh servers and their memory back
done
