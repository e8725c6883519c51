#!/usr/bin/env bash
# comment.sh OWNER/REPO PR FILE [KIND]: puts FILE as the pull request's KIND
# comment (review, by default; preview), editing the one that carries KIND's
# marker if there is one, so that a pull request has exactly one of each,
# always current. Uses the GitHub CLI (gh) with GH_TOKEN.
set -euo pipefail
repo=${1:?OWNER/REPO} pr=${2:?PR number} file=${3:?report file} kind=${4:-review}
case "$kind" in review | preview) ;; *) echo "comment.sh: KIND is review or preview" >&2; exit 2 ;; esac
marker="<!-- go-cdk-shop:$kind -->"
body=$(printf '%s\n\n%s\n' "$marker" "$(cat "$file")")
id=$(gh api --paginate "repos/$repo/issues/$pr/comments" --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$id" -f body="$body" >/dev/null
  echo "updated review comment $id"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -f body="$body" >/dev/null
  echo "posted the review comment"
fi
