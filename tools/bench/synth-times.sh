#!/usr/bin/env bash
# The synth beside its floor, paired run by run: an empty Go CDK app (one
# stack, one bucket: infra/cmd/synthfloor, what jsii and the CDK cost any Go
# app) and the shop's app, each through the pinned cdk CLI, alternately, 5
# pairs; the median of the pairs' ratios. The shop is synthesized twice per
# pair: as `make synth` runs it (cdk-nag and the CDK's template validation)
# and as `make review` runs its base side (neither: the base was checked when
# it landed). The floor runs as `cdk synth` runs any app (validation on).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
go build -trimpath -o dist/synthfloor ./infra/cmd/synthfloor
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
floor() { cdk --no-notices synth --quiet --app ./dist/synthfloor -o "$out/floor"; }
checked() { cdk --no-notices synth --quiet -o "$out/app"; }
base() { cdk --no-notices synth --quiet --no-validation -c checks=false -o "$out/base"; }
{ floor; checked; base; } >/dev/null 2>&1 # warm: caches, first-run unpacking
pairs=""
for _ in 1 2 3 4 5; do
  f=$(time_ms floor); c=$(time_ms checked); b=$(time_ms base)
  pairs+="$f $c $b"$'\n'
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { printf '%s' "$pairs" | awk -v c="$1" 'NF {print $c}' | median; }
ratio() { printf '%s' "$pairs" | awk -v c="$1" 'NF {printf "%.3f\n", $c / $1}' | median; }
echo "synth, medians of 5 pairs (ms):"
echo "  floor, an empty Go CDK app (cdk synth):            $(col 1)"
echo "  the shop as make synth runs it (nag, validation):  $(col 2)   x floor $(ratio 2)"
echo "  the shop as review's base side (neither):          $(col 3)   x floor $(ratio 3)"
