#!/usr/bin/env bash
# Median of 5 warm synths: the app binary alone with CloudFormation validation
# off, and the whole `cdk synth` with it on (what `make synth` runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
cdk --no-notices synth --quiet >/dev/null 2>&1 # warm: caches, first-run unpacking
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
app_alone() { CDK_OUTDIR="$ctx" CDK_VALIDATION=false CDK_CONTEXT_JSON="$(node -e 'console.log(JSON.stringify(require("./cdk.json").context))')" ./dist/cdkapp; }
a=$(for _ in 1 2 3 4 5; do time_ms app_alone; done | median)
b=$(for _ in 1 2 3 4 5; do time_ms cdk --no-notices synth --quiet; done | median)
echo "synth, app binary alone, validation off: ${a} ms (median of 5)"
echo "cdk synth, validation on:                ${b} ms (median of 5)"
