#!/usr/bin/env bash
# tools/preview/cost-cap.sh CAP: refuses (exit 1) a STAGE whose own stacks
# would idle above CAP US dollars a month (make cost's estimator on the
# synthesized templates); prints the estimate either way.
set -euo pipefail
cd "$(dirname "$0")/../.."
cap=${1:?usage: cost-cap.sh CAP_USD}
: "${STAGE:?STAGE is the preview stage}"
make -s synth >/dev/null
idle=$(go run ./infra/cmd/cost -stage "$STAGE" -json | jq '[.[].idle] | add // 0')
echo "stage $STAGE idles at $(printf '%.2f' "$idle") USD a month (cap $cap)"
if jq -en --argjson idle "$idle" --argjson cap "$cap" '$idle > $cap' >/dev/null; then
  echo "refused: above PREVIEW_COST_CAP" >&2
  exit 1
fi
