#!/usr/bin/env bash
# Fails when a module under src/ includes a header of a module that sits above it
# in the layer order, or when a third-party header appears outside an adapter file.
# Layer order (a module may include only itself and modules to its left):
set -euo pipefail
src="${1:?usage: check-layering.sh SRC_DIR}"
layers=(base env json http auth fhir stage store migrate verify server cli)
status=0
for ((i = 0; i < ${#layers[@]}; i++)); do
  module="${layers[$i]}"
  [[ -d "$src/$module" ]] || continue
  allowed=" ${layers[*]:0:$((i + 1))} "
  while IFS= read -r line; do
    file="${line%%:*}"
    target="$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")"
    if [[ " ${layers[*]} " == *" $target "* && "$allowed" != *" $target "* ]]; then
      echo "layering: $file includes $target/ but $module may only use:$allowed" >&2
      status=1
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$src/$module" --include='*.h' --include='*.cc' || true)
  # Third-party headers belong in adapter .cc files, never in a header
  # (test-only headers, *test*.h, may include what the test needs).
  if grep -rnE '^#include <(curl/|sqlite3\.h|simdjson|nlohmann/|toml\+\+|openssl/)' \
      "$src/$module" --include='*.h' --exclude='*test*' >&2; then
    echo "layering: third-party header in a public header of $module (move it to the .cc)" >&2
    status=1
  fi
  if grep -rnE '^#include "[a-z_]+/[a-z_]+_internal\.h"' "$src/$module" \
      --include='*.h' --include='*.cc' | grep -vE ":#include \"$module/" >&2; then
    echo "layering: $module includes another module's internal header" >&2
    status=1
  fi
  if grep -rnE '^#include "[a-z_]+/[a-z_]+_internal\.h"' "$src/$module" --include='*.h' \
      --exclude='*_internal.h' --exclude='*test*' >&2; then
    echo "layering: a public header of $module includes an internal header" >&2
    status=1
  fi
done
# SQLite is the state store's business: sqlite3.h appears in src/store only.
if grep -rlE '^#include <sqlite3\.h>' "$src" | grep -v "^$src/store/" >&2; then
  echo "layering: sqlite3.h outside $src/store" >&2
  status=1
fi
exit $status
