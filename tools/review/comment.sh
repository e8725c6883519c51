#!/usr/bin/env bash
# comment.sh OWNER/REPO PR FILE: puts FILE as the pull request's review
# comment, editing the one that carries the marker if there is one, so that a
# pull request has exactly one, always current. Uses the GitHub CLI (gh) with
# GH_TOKEN.
set -euo pipefail
repo=${1:?OWNER/REPO} pr=${2:?PR number} file=${3:?report file}
marker='<!-- go-cdk-shop:review -->'
body=$(printf '%s\n\n%s\n' "$marker" "$(cat "$file")")
id=$(gh api --paginate "repos/$repo/issues/$pr/comments" --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$id" -f body="$body" >/dev/null
  echo "updated review comment $id"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -f body="$body" >/dev/null
  echo "posted the review comment"
fi
