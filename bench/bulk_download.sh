#!/usr/bin/env bash
# Bulk download + staging against parallel curl (DESIGN.md target: the tool's
# wall time ≤ 1.05× curl fetching the same manifest's files PARALLEL at a time;
# the tool's CPU ≤ 8 µs per resource, line counting and staging included).
# One finished export job on a test server; A (fhir-migrate's BulkExtractor,
# stage only, bench/bulk_download.cc) and B (xargs -P curl --compressed) fetch
# its files in alternation, RUNS times each, each a whole process timed by this
# script the same way (wall and CPU); prints every run and the medians.
#   bash bench/bulk_download.sh [COUNT=200000] [RUNS=5] [PARALLEL=8]
source "$(dirname "$0")/lib.sh"
count="${1:-200000}"
runs="${2:-5}"
par="${3:-8}"
if [[ -z "${FM_BENCH_BUILD:-}" ]]; then
  cmake --build --preset release --target bulk_download >/dev/null
fi
HARNESS="$BUILD/bench/bulk_download"

src="$(start_server src)"
load_generated "$src" "$count" 42
curl -sf -X POST -H 'Content-Type: application/json' \
  --data '{"retryAfterSeconds":0,"exportPolls":1,"maxLinesPerFile":5000}' "$src/\$admin/faults" >/dev/null
curl -sf -D "$WORK/kickoff.headers" -o /dev/null -H 'Accept: application/fhir+json' \
  -H 'Prefer: respond-async' "$src/\$export"
status="$(awk 'tolower($1) == "content-location:" { sub(/\r$/, "", $2); print $2 }' "$WORK/kickoff.headers")"
[[ -n "$status" ]] || { echo "bench: the kick-off returned no Content-Location" >&2; exit 1; }
for _ in $(seq 1 600); do
  code="$(curl -s -o "$WORK/manifest.json" -w '%{http_code}' "$status")"
  [[ "$code" == 200 ]] && break
  sleep 0.2
done
[[ "$code" == 200 ]] || { echo "bench: the export did not complete (last status $code)" >&2; exit 1; }
"$NODE" -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  m.output.forEach((o, i) => console.log(i, o.url));' "$WORK/manifest.json" >"$WORK/urls.txt"
files="$(wc -l <"$WORK/urls.txt")"

# One untimed pass, so neither side pays for the server's first read of the job's files.
mkdir -m 700 "$WORK/warm"
B_DIR="$WORK/warm" xargs -P "$par" -n 2 sh -c 'exec curl -sf --compressed -o "$B_DIR/$0.ndjson" "$1"' \
  <"$WORK/urls.txt"
rm -rf "$WORK/warm"

# Both sides are whole processes, started and waited for by this script and
# measured the same way: wall time from just before the start to just after
# the exit (process start, opening the state store, every fetch), CPU time of
# the process and its children (GNU time: user + system).
measure() {  # measure OUT cmd... → "WALL_S CPU_S"; OUT gets the command's stdout
  local out="$1" start end
  shift
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$out.time" "$@" >"$out" || return 1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" '{ printf "%.3f %.2f\n", e - s, $1 + $2 }' "$out.time"
}
# xargs exits non-zero when a fetch failed; the line count below says so.
fetch_with_curl() {
  B_DIR="$1" xargs -P "$par" -n 2 sh -c 'exec curl -sf --compressed -o "$B_DIR/$0.ndjson" "$1"' \
    <"$WORK/urls.txt" || true
}

echo "bulk download + staging: $count generated resources in $files files, $par in parallel, $runs runs each"
a_wall=() b_wall=() a_cpu=() b_cpu=()
for run in $(seq 1 "$runs"); do
  rm -rf "$WORK/a" "$WORK/b"
  mkdir -m 700 "$WORK/a" "$WORK/b"
  read -r wall cpu < <(measure "$WORK/a.out" "$HARNESS" "$src" "$status" "$WORK/a" "$par") ||
    { echo "bench: bulk_download failed" >&2; exit 1; }
  resources="$(sed -E 's/.*resources=([0-9]+).*/\1/' "$WORK/a.out")"
  a_wall+=("$wall") a_cpu+=("$cpu")

  read -r wall cpu < <(measure "$WORK/b.out" fetch_with_curl "$WORK/b")
  b_wall+=("$wall") b_cpu+=("$cpu")
  curl_lines="$(cat "$WORK"/b/*.ndjson 2>/dev/null | wc -l)"
  [[ "$curl_lines" == "$resources" ]] ||
    { echo "bench: curl fetched $curl_lines lines, the tool staged $resources" >&2; exit 1; }
  echo "run $run: fhir-migrate ${a_wall[-1]} s (CPU ${a_cpu[-1]} s), curl ${b_wall[-1]} s (CPU ${b_cpu[-1]} s), $resources resources"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ma="$(median "${a_wall[@]}")"
mb="$(median "${b_wall[@]}")"
awk -v a="$ma" -v b="$mb" -v ca="$(median "${a_cpu[@]}")" -v cb="$(median "${b_cpu[@]}")" -v n="$resources" 'BEGIN {
  printf "median: fhir-migrate %.3f s (%.0f resources/s), curl %.3f s (%.0f resources/s)\n", a, n / a, b, n / b
  printf "ratio fhir-migrate/curl wall: %.2f (target <= 1.05); CPU per resource: fhir-migrate %.2f us (target <= 8), curl %.2f us\n", a / b, ca * 1e6 / n, cb * 1e6 / n
}'
