#!/usr/bin/env bash
# Waits (at most 30 minutes) until no stack of STAGE has an operation in
# progress, so that a destroy never races a deploy.
set -euo pipefail
: "${STAGE:?STAGE is the preview stage}"
for _ in $(seq 1 180); do
  busy=$(aws cloudformation describe-stacks --query "Stacks[?starts_with(StackName, 'Shop-$STAGE-') && ends_with(StackStatus, '_IN_PROGRESS')].StackName" --output text)
  [ -z "$busy" ] || [ "$busy" = None ] && { echo "stacks of $STAGE are stable"; exit 0; }
  echo "waiting for $busy"
  sleep 10
done
echo "stacks of $STAGE still busy after 30 minutes" >&2
exit 1
