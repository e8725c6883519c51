#!/usr/bin/env bash
# The default synth of `make review`: builds the tree in the current directory
# (any revision with a `make build`) and synthesizes STAGE into the directory
# given, with this checkout's pinned cdk CLI. No AWS account is needed.
# SYNTH_CHECKS=off skips cdk-nag and the CDK's template validation: review
# sets it for the base side, which was checked when it landed.
set -euo pipefail
out=${1:?usage: synth.sh OUTDIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
make -s build >/dev/null
checks=()
[ "${SYNTH_CHECKS:-on}" = off ] && checks=(--no-validation -c checks=false)
"$here/node_modules/.bin/cdk" synth --quiet --no-notices -o "$out" ${STAGE:+-c stage=$STAGE} "${checks[@]}" >/dev/null
# Each function's binary size, for the review's growth budget.
{
  printf '{'
  sep=
  for f in dist/*/bootstrap; do
    [ -f "$f" ] || continue
    fn=$(basename "$(dirname "$f")")
    printf '%s"%s": %s' "$sep" "$fn" "$(stat -c %s "$f")"
    sep=', '
  done
  printf '}\n'
} > "$out/sizes.json"
