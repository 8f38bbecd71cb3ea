#!/usr/bin/env bash
# The whole suite, as CI runs it (.ci/run calls this script). Each step is
# timed; a summary of every step's wall time is printed at the end, also when
# a step failed (the first failure ends the run, with its log's tail).
#
#   deps     scripts/install-deps.sh
#   asan     build the asan preset (ASan + UBSan) and run every test with CTest
#   stress   the unit-test binaries again, GTEST_REPEAT=20 GTEST_SHUFFLE=1, under ASan
#   tsan     the tsan preset (clang-14, ThreadSanitizer, -Wthread-safety): the
#            unit tests, rest_migration_test and bulk_export_test
#   release  the release preset with -Werror: fhir-migrate, tools/, the bench harnesses
#   bench    every bench/*.sh once at a tiny N (timings printed, never asserted)
#   fuzz     a short, reproducible fuzzing pass (scripts/fuzz.sh)
#
# The tsan, release and fuzz trees are built in the background (nice 10) while
# the ASan suite runs: its integration tests spend much of their time waiting
# on servers, and nothing in the suite depends on timing.
#
# Environment: FM_TEST_STEPS="asan stress" runs only the steps named;
# FM_TEST_PRESET=dev runs the asan step's suite without sanitizers (and skips
# stress); FM_TEST_JOBS (2) CTest's parallelism; FM_STRESS_REPEAT (20);
# FM_SKIP_FUZZ=1; FM_FUZZ_SEED, FM_FUZZ_RUNS, FM_FUZZ_SECONDS as for fuzz.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
logs="$root/build/ci"
mkdir -p "$logs"
preset="${FM_TEST_PRESET:-asan}"
jobs="${FM_TEST_JOBS:-2}"
steps="${FM_TEST_STEPS:-deps asan stress tsan release bench fuzz}"
[[ "${FM_SKIP_FUZZ:-0}" == 1 ]] && steps="${steps//fuzz/}"
[[ "$preset" != asan ]] && steps="${steps//stress/}"
wants() { [[ " $steps " == *" $1 "* ]]; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# --- timing and the summary -------------------------------------------------
summary=()
t_start=$(date +%s)
failed_step=""
declare -A bg_pid
print_summary() {
  local status=$? total=$(($(date +%s) - t_start)) name
  # Background builds still running (a step failed first) are stopped.
  for name in "${!bg_pid[@]}"; do kill -- -"${bg_pid[$name]}" 2>/dev/null || true; done
  echo
  echo "test.sh: wall time per step"
  for line in ${summary[@]+"${summary[@]}"}; do echo "  $line"; done
  printf '  %-16s %8s\n' total "$((total / 60))m$(printf %02d $((total % 60)))s"
  if [[ -n "$failed_step" ]]; then
    echo "test.sh: FAILED in step '$failed_step' (log: build/ci/$failed_step.log)"
  elif [[ $status != 0 ]]; then
    echo "test.sh: FAILED (exit $status)"
  fi
}
trap print_summary EXIT

record() {  # record NAME SECONDS STATUS
  summary+=("$(printf '%-16s %8s  %s' "$1" "$(($2 / 60))m$(printf %02d $(($2 % 60)))s" "$3")")
}

# step NAME CMD...: runs CMD with its output on the console and in build/ci/NAME.log.
step() {
  local name="$1" t0 status=0
  shift
  echo "=== test.sh: $name"
  t0=$(date +%s)
  "$@" 2>&1 | tee "$logs/$name.log" || status=${PIPESTATUS[0]}
  record "$name" $(($(date +%s) - t0)) "$([[ $status == 0 ]] && echo ok || echo "FAILED ($status)")"
  if [[ $status != 0 ]]; then
    failed_step="$name"
    exit "$status"
  fi
}

# background NAME CMD...: starts CMD now, at the lowest CPU priority, in a
# process group of its own (so that a failure elsewhere can stop it), with its
# output in build/ci/NAME.log; join_background NAME waits for it and records
# the wall time it took itself.
background() {
  local name="$1"
  shift
  set -m
  (
    t0=$(date +%s)
    status=0
    # The lowest priority for this subshell and all it starts (nice(1) cannot
    # run a shell function).
    renice -n 10 -p "$BASHPID" >/dev/null
    "$@" >"$logs/$name.log" 2>&1 || status=$?
    echo $(($(date +%s) - t0)) >"$logs/$name.seconds"
    exit $status
  ) &
  bg_pid[$name]=$!
  set +m
  echo "=== test.sh: $name started in the background (log: build/ci/$name.log)"
}
join_background() {
  local name="$1" status=0
  echo "=== test.sh: waiting for $name"
  wait "${bg_pid[$name]}" || status=$?
  unset "bg_pid[$name]"
  record "$name" "$(cat "$logs/$name.seconds" 2>/dev/null || echo 0)" \
    "$([[ $status == 0 ]] && echo "ok (in the background)" || echo "FAILED ($status)")"
  if [[ $status != 0 ]]; then
    echo "=== test.sh: $name failed; the last 40 lines of build/ci/$name.log:"
    tail -n 40 "$logs/$name.log"
    failed_step="$name"
    exit "$status"
  fi
}

# --- the steps ---------------------------------------------------------------
build_asan() {
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
}
test_asan() {
  export FM_NODE="$(cat .deps/node-path)"
  ctest --preset "$preset" -j "$jobs"
}
# The unit-test binaries only (the integration tests are those labelled
# `integration`); gtest reads GTEST_REPEAT and GTEST_SHUFFLE itself, and a
# failure prints the shuffle seed that reproduces it.
stress() {
  GTEST_REPEAT="${FM_STRESS_REPEAT:-20}" GTEST_SHUFFLE=1 \
    ctest --preset asan -LE integration -j "$jobs" --timeout 3600
}
build_tsan() {
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan
}
test_tsan() {
  export FM_NODE="$(cat .deps/node-path)"
  ctest --preset tsan -j "$jobs"
}
# What users build: the binary, the tools and the bench harnesses, -Werror
# (CMakeLists.txt), optimised.
build_release() {
  cmake --preset release >/dev/null
  cmake --build --preset release --target fhir-migrate fhirgen tool_throughput bulk_download rest_load
}
# Each bench once at a tiny N, against the release tree just built: a bench
# that no longer builds or runs fails CI; its timings are printed only.
bench_smoke() {
  export FM_BENCH_BUILD="$root/build/release" FM_NODE="$(cat .deps/node-path)"
  bash bench/tool_throughput.sh 2000 1
  bash bench/rest_load.sh 2000 1 2 100
  bash bench/bulk_download.sh 2000 1 2
  bash bench/bulk_pipeline.sh 2000 1
  bash bench/rest_migration.sh 2000
  bash bench/bulk_memory.sh 2000
  bash bench/verify_full.sh 2000
}
build_fuzz() { bash fuzz/build.sh build/fuzz; }
run_fuzz() {
  # A short, reproducible pass: fixed seed, fixed number of inputs per target.
  FM_FUZZ_NO_BUILD=1 FM_FUZZ_SEED="${FM_FUZZ_SEED:-1}" FM_FUZZ_RUNS="${FM_FUZZ_RUNS:-20000}" \
    bash scripts/fuzz.sh "${FM_FUZZ_SECONDS:-20}"
}

if wants deps; then step deps bash scripts/install-deps.sh; fi
if wants asan; then step asan-build build_asan; fi
if wants tsan; then background tsan-build build_tsan; fi
if wants release; then background release-build build_release; fi
if wants fuzz; then background fuzz-build build_fuzz; fi
if wants asan; then step asan-test test_asan; fi
if wants stress; then step stress stress; fi
if wants fuzz; then
  join_background fuzz-build
  step fuzz run_fuzz
fi
if wants tsan; then
  join_background tsan-build
  step tsan-test test_tsan
fi
if wants release; then join_background release-build; fi
if wants bench; then step bench bench_smoke; fi
