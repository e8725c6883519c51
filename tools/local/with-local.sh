#!/usr/bin/env bash
# Starts the local API (dist/local, seeded) on a free loopback port, runs the
# given command with BASE_URL set to it, and always stops it. The Postman
# run and the product-cache load measurement use it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
log=$(mktemp)
DYNAMODB_LOCAL_DIR="$PWD/node_modules/amplify-dynamodb-simulator/emulator" ./dist/local --port "$port" --seed >"$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 240); do
  if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "local API exited" >&2; exit 1; }
  sleep 0.25
done
BASE_URL="http://127.0.0.1:$port" "$@"
