#!/usr/bin/env bash
# make review [BASE=<git rev>] [STAGE=prod] [ALLOW_REPLACE="id id"] [ALLOW_GROWTH="fn fn"]
#
# Every value arrives in the environment (make exports them), never pasted
# into a command line. Without BASE the base is what was last deployed to
# STAGE (the tag deployed/<stage> that make deploy moves), when there is one.
#
# Synthesizes BASE (in a temporary git worktree; the result is cached by
# commit and stage under .cache/review) and the working tree for the same
# stage, and prints the Markdown review of the difference (tools/review/
# review.mjs). The complete report goes to cdk.out/review.md. No AWS account
# is involved. REVIEW_SYNTH replaces the synth command (it runs in the tree to
# synthesize, with the output directory as its argument).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd) # this checkout: the review tools and the pinned Node
root=$(git rev-parse --show-toplevel)    # the repository under review
cd "$root"
stage=${STAGE:-prod}
base=${BASE:-}
if [ -z "$base" ] && git rev-parse --verify --quiet "refs/tags/deployed/$stage" >/dev/null; then
  base="deployed/$stage"
  echo "review: the base is what was last deployed to $stage ($base)" >&2
fi
[ -n "$base" ] || { echo "review: BASE=<git rev> is required (no deployed/$stage tag here), e.g. make review BASE=origin/main" >&2; exit 2; }
case "$stage" in *[!a-z0-9-]* | "") echo "review: STAGE must be a stage name (a-z, 0-9, -)" >&2; exit 2 ;; esac
sha=$(git rev-parse --verify --quiet "$base^{commit}") || { echo "review: $base is not a commit here" >&2; exit 2; }
synth=${REVIEW_SYNTH:-$here/tools/review/synth.sh}
node="$here/node_modules/.bin/node"
[ -x "$node" ] || node=node

cache="$root/.cache/review/$sha-$stage"
if [ ! -f "$cache/.complete" ] || [ ! -f "$cache/sizes.json" ]; then
  work=$(mktemp -d)
  cleanup() {
    git -C "$root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  git worktree add --quiet --detach "$work/tree" "$sha"
  echo "review: synthesizing $base (${sha:0:12}) for stage $stage" >&2
  # The base was checked when it landed: no cdk-nag, no template validation.
  (cd "$work/tree" && STAGE=$stage SYNTH_CHECKS=off "$synth" "$work/out")
  rm -rf "$cache"
  mkdir -p "$cache"
  cp "$work/out"/*.template.json "$cache"/
  cp "$work/out"/*.assets.json "$cache"/ 2>/dev/null || true
  cp "$work/out"/sizes.json "$cache"/ 2>/dev/null || true
  touch "$cache/.complete"
fi

head="$root/cdk.out/review-head"
echo "review: synthesizing the working tree for stage $stage" >&2
rm -rf "$head"
STAGE=$stage "$synth" "$head"
mkdir -p "$root/cdk.out"
title="Infrastructure review: $stage, $base (${sha:0:12}) → working tree"
# The monthly cost of both sides, from this checkout's estimator (make cost);
# REVIEW_COST=off, or an estimator that cannot price them, leaves it out.
costs=()
if [ "${REVIEW_COST:-on}" != off ]; then
  if (cd "$here" && go run ./infra/cmd/cost -stage "$stage" -dir "$cache" -json) > "$root/cdk.out/review-cost-base.json" 2>/dev/null &&
    (cd "$here" && go run ./infra/cmd/cost -stage "$stage" -dir "$head" -json) > "$root/cdk.out/review-cost-head.json" 2>/dev/null; then
    costs=(--cost-base "$root/cdk.out/review-cost-base.json" --cost-head "$root/cdk.out/review-cost-head.json")
  fi
fi
"$node" "$here/tools/review/review.mjs" --base "$cache" --head "$head" --report "$root/cdk.out/review.md" \
  --allow-replace "${ALLOW_REPLACE:-}" --allow-growth "${ALLOW_GROWTH:-}" --title "$title" \
  --sizes-base "$cache/sizes.json" --sizes-head "$head/sizes.json" "${costs[@]}"
