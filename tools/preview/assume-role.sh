#!/usr/bin/env bash
# In a GitHub Actions job with `id-token: write`: trades the job's OIDC token
# for the preview deploy role's credentials (ROLE_ARN, in AWS_REGION) and
# writes them to $GITHUB_ENV for the steps that follow. No third-party
# action: curl and the runner's AWS CLI.
set -euo pipefail
: "${ROLE_ARN:?the repository variable PREVIEW_ROLE_ARN names the deploy role}"
: "${AWS_REGION:?the repository variable PREVIEW_REGION names the region}"
: "${ACTIONS_ID_TOKEN_REQUEST_URL:?the job needs permissions: id-token: write}"
token=$(curl -fsS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com" | jq -r .value)
echo "::add-mask::$token"
creds=$(aws sts assume-role-with-web-identity --region "$AWS_REGION" --role-arn "$ROLE_ARN" \
  --role-session-name "preview-${GITHUB_RUN_ID:-local}" --web-identity-token "$token" --duration-seconds 3600 \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
read -r key secret session <<<"$creds"
for v in "$key" "$secret" "$session"; do echo "::add-mask::$v"; done
{
  echo "AWS_ACCESS_KEY_ID=$key"
  echo "AWS_SECRET_ACCESS_KEY=$secret"
  echo "AWS_SESSION_TOKEN=$session"
  echo "AWS_REGION=$AWS_REGION"
  echo "AWS_DEFAULT_REGION=$AWS_REGION"
} >>"$GITHUB_ENV"
echo "assumed $ROLE_ARN"
