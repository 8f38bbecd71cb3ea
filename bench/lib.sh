# Shared helpers for bench scripts: release build, test servers, data loading.
# Source it; it sets ROOT, BIN, GEN, NODE and WORK, and stops servers on exit.
#   FM_BENCH_BUILD=DIR  measure the binaries of a tree already built in DIR
#                       (e.g. build/r); skips installing dependencies and
#                       building the release preset. The report should say which.
#   FM_NODE=PATH        the node binary for the test servers (default: the one
#                       scripts/install-deps.sh records, or node on PATH).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${FM_BENCH_BUILD:-}" ]]; then
  BUILD="$(cd "$FM_BENCH_BUILD" && pwd)"
  NODE="${FM_NODE:-$(command -v node)}"
else
  bash "$ROOT/scripts/install-deps.sh"
  NODE="${FM_NODE:-$(cat "$ROOT/.deps/node-path")}"
  cmake --preset release -S "$ROOT" >/dev/null
  cmake --build --preset release --target fhir-migrate fhirgen >/dev/null
  BUILD="$ROOT/build/release"
fi
BIN="$BUILD/src/cli/fhir-migrate"
GEN="$BUILD/tools/fhirgen/fhirgen"
[[ -x "$BIN" && -x "$GEN" ]] || { echo "bench: no fhir-migrate/fhirgen in $BUILD" >&2; exit 1; }
echo "bench: $BIN ($(grep -m1 '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" 2>/dev/null || echo 'build type unknown'))" >&2
WORK="$(mktemp -d /tmp/fm-bench.XXXXXX)"
# start_server runs in a command substitution (a subshell), so each server's
# pid goes to a file under $WORK rather than into a variable.
stop_servers() {
  for pidfile in "$WORK"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}
bench_cleanup() {
  stop_servers
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# start_server NAME → echoes the base URL; the server is stopped by stop_servers or on exit.
start_server() {
  local log="$WORK/$1.log"
  "$NODE" --max-old-space-size=8192 "$ROOT/tests/servers/fhir-server.mjs" --port 0 --host 127.0.0.1 \
    --name "$1" >"$log" 2>&1 &
  echo $! >"$WORK/$1.pid"
  for _ in $(seq 1 300); do
    if grep -q '^LISTENING ' "$log"; then
      echo "http://127.0.0.1:$(grep '^LISTENING ' "$log" | head -1 | cut -d' ' -f2)/fhir"
      return
    fi
    sleep 0.1
  done
  echo "bench: server $1 did not start" >&2
  cat "$log" >&2
  return 1
}

# load_generated URL COUNT SEED → loads COUNT generated resources (2021-2024).
load_generated() {
  "$GEN" --seed "$3" --count "$2" --from 2021-01-01 --till 2024-01-01 --out "$WORK/gen.ndjson"
  curl -sf -X POST -H 'Content-Type: application/fhir+ndjson' --data-binary "@$WORK/gen.ndjson" \
    "$1/\$admin/load" >/dev/null
  rm -f "$WORK/gen.ndjson"
}

# peak_rss_kb PID → VmHWM of a running process (kB), polled until it exits.
run_measured() {  # run_measured OUTFILE cmd... → prints "seconds peak_kb"
  local out="$1"
  shift
  local start end peak=0
  start=$(date +%s.%N)
  "$@" >"$out" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [[ -n "$hwm" && "$hwm" -gt "$peak" ]] && peak=$hwm
    sleep 0.05
  done
  wait "$pid" || { echo "bench: command failed:" >&2; tail -20 "$out" >&2; return 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v p="$peak" 'BEGIN { printf "%.2f %d\n", e - s, p }'
}
