#!/usr/bin/env bash
# Builds libFuzzer targets: every fuzz/*.cc (or the names given) into OUT_DIR,
# with clang, ASan and UBSan. Each target lists what it links in comment lines:
#   // fuzz-sources: src/json/ndjson.cc src/base/result.cc   (repo-relative; may repeat)
#   // fuzz-libs: -lsimdjson -lcrypto                        (optional)
# Usage: fuzz/build.sh OUT_DIR [TARGET...]      e.g. fuzz/build.sh build/fuzz ndjson_fuzz
# Env: CXX (default clang++-14), FUZZ_SANITIZERS (default fuzzer,address,undefined).
set -euo pipefail
out="${1:?usage: fuzz/build.sh OUT_DIR [TARGET...]}"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cxx="${CXX:-clang++-14}"
sanitizers="${FUZZ_SANITIZERS:-fuzzer,address,undefined}"
flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer "-fsanitize=$sanitizers" -fno-sanitize-recover=all
       -Wall -Wextra -Werror -Wno-missing-field-initializers -I"$root/src")
mkdir -p "$out"

# The words after "// <tag>:" on the target's comment lines.
read_tag() { sed -nE "s|^// $1:(.*)$|\1|p" "$2" | tr '\n' ' '; }

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for file in "$root"/fuzz/*.cc; do targets+=("$(basename "$file" .cc)"); done
fi
for name in "${targets[@]}"; do
  file="$root/fuzz/$name.cc"
  [[ -f "$file" ]] || { echo "fuzz/build.sh: no such target: $file" >&2; exit 1; }
  sources=()
  for source in $(read_tag fuzz-sources "$file"); do sources+=("$root/$source"); done
  read -r -a libs <<<"$(read_tag fuzz-libs "$file")"
  echo "building $out/$name"
  "$cxx" "${flags[@]}" "$file" "${sources[@]}" ${libs[@]+"${libs[@]}"} -o "$out/$name"
done
