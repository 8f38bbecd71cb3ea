#!/usr/bin/env bash
# Builds every fuzz/*.cc libFuzzer target (clang++-14, ASan+UBSan, via
# fuzz/build.sh) into build/fuzz and runs each for N seconds (default 10),
# keeping a corpus per target in build/fuzz/corpus/<target> (seeded from
# fuzz/corpus/<target> when present). Prints executions, corpus size and
# crashes per target; exits non-zero when any target crashed or did not build.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-10}"
shift || true
out="$root/build/fuzz"
mkdir -p "$out"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for file in "$root"/fuzz/*.cc; do targets+=("$(basename "$file" .cc)"); done
fi
crashed=0
built=()
for name in "${targets[@]}"; do
  # FM_FUZZ_NO_BUILD=1 reuses binaries already in build/fuzz.
  if [[ "${FM_FUZZ_NO_BUILD:-0}" == 1 && -x "$out/$name" ]]; then
    built+=("$name")
  elif bash "$root/fuzz/build.sh" "$out" "$name" >"$out/$name.build.log" 2>&1; then
    built+=("$name")
  else
    crashed=1
    echo "fuzz.sh: $name does not build; see $out/$name.build.log" >&2
    grep -m3 -E 'error' "$out/$name.build.log" >&2 || true
  fi
done

printf '%-24s %12s %8s %8s\n' target executions corpus crashes
for name in ${built[@]+"${built[@]}"}; do
  corpus="$out/corpus/$name"
  artifacts="$out/artifacts/$name/"
  rm -rf "$artifacts"  # count only this run's crashes
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [[ -d "$root/fuzz/corpus/$name" ]] && seeds+=("$root/fuzz/corpus/$name")
  log="$out/$name.log"
  status=0
  # FM_FUZZ_SEED/FM_FUZZ_RUNS make a run reproducible (CI sets both, so a
  # pass cannot turn into a failure by chance); the time limit stays a cap.
  repro=()
  [[ -n "${FM_FUZZ_SEED:-}" ]] && repro+=(-seed="$FM_FUZZ_SEED")
  [[ -n "${FM_FUZZ_RUNS:-}" ]] && repro+=(-runs="$FM_FUZZ_RUNS")
  "$out/$name" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 ${repro[@]+"${repro[@]}"} \
    -artifact_prefix="$artifacts" "$corpus" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1 || status=$?
  execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  size="$(find "$corpus" -type f | wc -l)"
  crashes="$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  if [[ $status -ne 0 && $crashes -eq 0 ]]; then crashes=1; fi
  printf '%-24s %12s %8s %8s\n' "$name" "${execs:-?}" "$size" "$crashes"
  if [[ $crashes -ne 0 ]]; then
    crashed=1
    echo "  $name failed (exit $status); see $log and $artifacts" >&2
    grep -m5 -E 'ERROR|SUMMARY|runtime error' "$log" >&2 || true
  fi
done
exit $crashed
