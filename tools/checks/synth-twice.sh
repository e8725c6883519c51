#!/usr/bin/env bash
# Synthesizes HEAD in two clones at different paths and compares the cloud
# assemblies: templates and asset manifests must be byte-identical (the asset
# hashes included), so `cdk diff` is quiet when nothing changed.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
stage=${STAGE:-dev-determinism}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for d in a "b/deeper/path"; do
  git clone -q --no-hardlinks . "$root/$d/shop"
  (cd "$root/$d/shop" && make synth STAGE="$stage" >/dev/null)
done
a="$root/a/shop/cdk.out" b="$root/b/deeper/path/shop/cdk.out"
status=0
for f in "$a"/*.template.json "$a"/*.assets.json; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$b/$name"; then
    echo "differs between clone folders: $name"
    status=1
  fi
done
[ $status = 0 ] && echo "synth is byte-identical across clone folders ($(ls "$a"/*.template.json | wc -l) templates, asset hashes included)"
exit $status
