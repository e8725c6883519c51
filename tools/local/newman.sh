#!/usr/bin/env bash
# Runs the Postman collection with newman against a local API that
# tools/local/with-local.sh starts on a free port and always stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec tools/local/with-local.sh bash -c 'newman run docs/postman/shop.postman_collection.json -e docs/postman/local.postman_environment.json \
  --env-var "baseUrl=$BASE_URL" --bail --color off --reporters cli'
