#!/usr/bin/env bash
# Fails when git tracks build output: an executable binary (ELF, Mach-O, PE,
# or any file git marks executable that is not a script with a #! line), or
# any file over 1 MiB. Fixtures that must stay are listed in ALLOWED.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

MAX_BYTES=$((1024 * 1024))
# Paths that may break the rules, one per line, with the reason.
ALLOWED=(
)

allowed() {
  local p
  for p in "${ALLOWED[@]}"; do [ "$p" = "$1" ] && return 0; done
  return 1
}

bad=0
while IFS= read -r -d '' entry; do
  mode=${entry%% *}
  path=${entry#*$'\t'}
  [ -f "$path" ] || continue # deleted in the work tree, not yet committed
  allowed "$path" && continue
  size=$(stat -c %s "$path")
  if ((size > MAX_BYTES)); then
    echo "tracked file over 1 MiB: $path ($size bytes)"
    bad=1
  fi
  magic=$(head -c 4 "$path" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
  7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | 4d5a*)
    echo "tracked executable binary: $path"
    bad=1
    continue
    ;;
  esac
  if [ "$mode" = 100755 ] && [ "$(head -c 2 "$path")" != '#!' ]; then
    echo "tracked executable without a #! line: $path"
    bad=1
  fi
done < <(git ls-files -s -z)

if ((bad)); then
  echo "untrack build output with 'git rm --cached <path>' and add it to .gitignore"
  exit 1
fi
