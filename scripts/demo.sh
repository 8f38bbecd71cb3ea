#!/usr/bin/env bash
# The demo: installs, builds, starts two local FHIR servers on loopback, fills
# the source with generated clinical data spread over three years, migrates it
# with the embedded defaults, prints per-type counts of both sides and the
# elapsed time, and stops the servers.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
count="${FM_DEMO_RESOURCES:-20000}"

bash scripts/install-deps.sh
node="$(cat .deps/node-path)"
echo "== building (release)"
cmake --preset release >/dev/null
cmake --build --preset release --target fhir-migrate fhirgen >/dev/null
bin="$root/build/release/src/cli/fhir-migrate"
gen="$root/build/release/tools/fhirgen/fhirgen"

work="$(mktemp -d /tmp/fhir-migrate-demo.XXXXXX)"
chmod 700 "$work"
# start_server runs in a command substitution (a subshell): each server's pid
# goes to a file, since a variable set there would be lost.
cleanup() {
  for pidfile in "$work"/*.pid; do
    [[ -e "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {  # name → prints the base URL
  local name="$1" log="$work/$1.log"
  "$node" tests/servers/fhir-server.mjs --port 0 --host 127.0.0.1 --name "$name" >"$log" 2>&1 &
  echo $! >"$work/$name.pid"
  for _ in $(seq 1 300); do
    if grep -q '^LISTENING ' "$log"; then
      echo "http://127.0.0.1:$(grep '^LISTENING ' "$log" | head -1 | cut -d' ' -f2)/fhir"
      return
    fi
    sleep 0.1
  done
  echo "demo: the $name server did not start:" >&2
  cat "$log" >&2
  exit 1
}

echo "== starting two FHIR servers on loopback"
src="$(start_server source)"
dst="$(start_server destination)"
echo "   source      $src"
echo "   destination $dst"

echo "== generating $count resources (2021-2024) into the source"
"$gen" --seed 42 --count "$count" --from 2021-01-01 --till 2024-01-01 --out "$work/data.ndjson"
curl -sf -X POST -H 'Content-Type: application/fhir+ndjson' --data-binary "@$work/data.ndjson" \
  "$src/\$admin/load" >/dev/null

cd "$work"
export FHIR_MIGRATE_SOURCE_URL="$src" FHIR_MIGRATE_DESTINATION_URL="$dst"
echo "== migrating (fhir-migrate run --once, embedded defaults)"
start=$(date +%s.%N)
"$bin" run --once
end=$(date +%s.%N)

echo "== per-type counts (fhir-migrate verify --surface)"
"$bin" verify --surface
echo
"$bin" status | head -3
awk -v s="$start" -v e="$end" -v n="$count" 'BEGIN { printf "\nmigrated %d resources in %.1f s\n", n, e - s }' 
