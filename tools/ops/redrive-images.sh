#!/usr/bin/env bash
# Redrives the upload events that the images function of a stage failed
# three times: each message of its failure queue holds the original S3 event
# (requestPayload); it is invoked again, asynchronously, and the message is
# deleted once Lambda accepted the invocation. Needs the AWS CLI and
# credentials for the stage's account; stops at the first failure.
#   tools/ops/redrive-images.sh <stage> [max messages, default 100]
set -euo pipefail
stage=${1:?usage: tools/ops/redrive-images.sh <stage> [max]}
max=${2:-100}
stack="Shop-$stage-Media"
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
queue=$(output ImagesFailuresQueueUrl)
fn=$(aws cloudformation describe-stack-resources --stack-name "$stack" \
  --query "StackResources[?ResourceType=='AWS::Lambda::Function' && starts_with(LogicalResourceId, 'ImagesFunction')].PhysicalResourceId" --output text)
[ -n "$queue" ] && [ -n "$fn" ] || { echo "no failure queue or images function in $stack" >&2; exit 1; }
payload=$(mktemp)
trap 'rm -f "$payload"' EXIT
done_=0
while [ "$done_" -lt "$max" ]; do
  msg=$(aws sqs receive-message --queue-url "$queue" --max-number-of-messages 1 --visibility-timeout 60 --output json)
  [ -n "$msg" ] || break
  node -e 'const m=JSON.parse(require("fs").readFileSync(0,"utf8")).Messages[0];
    process.stdout.write(JSON.stringify(JSON.parse(m.Body).requestPayload)+"\n"+m.ReceiptHandle)' <<<"$msg" > "$payload.all"
  head -n1 "$payload.all" > "$payload"
  receipt=$(tail -n1 "$payload.all")
  aws lambda invoke --function-name "$fn" --invocation-type Event --cli-binary-format raw-in-base64-out \
    --payload "fileb://$payload" /dev/null >/dev/null
  aws sqs delete-message --queue-url "$queue" --receipt-handle "$receipt"
  done_=$((done_ + 1))
done
rm -f "$payload.all"
echo "redrove $done_ event(s) from $queue to $fn"
