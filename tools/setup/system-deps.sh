#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
#
#   tools/setup/system-deps.sh synth   # Node.js and npm (the cdk CLI and jsii run on Node)
#   tools/setup/system-deps.sh test    # also Java 17 (DynamoDB Local) and redis-server/redis-cli
#
# As root (or with passwordless sudo) with apt-get it installs them; otherwise
# it stops and prints the exact command to run. Go itself is the one thing it cannot install (Debian's Go is
# older than go.mod's); it says where to get it.
set -euo pipefail

need=${1:?usage: system-deps.sh synth|test}
missing=()
have() { command -v "$1" >/dev/null 2>&1; }

java_ok() {
  have java || return 1
  # DynamoDB Local needs Java 17 or later.
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

have go || { echo "missing: Go 1.26 or later (not in Debian 12; install it from https://go.dev/dl)" >&2; exit 1; }
have node || missing+=(nodejs)
have npm || missing+=(npm)
have curl || missing+=(curl)
case "$need" in
synth) ;;
test)
  java_ok || missing+=(openjdk-17-jre-headless)
  { have redis-server && have redis-cli; } || missing+=(redis-server redis-tools)
  ;;
*) echo "usage: system-deps.sh synth|test" >&2; exit 2 ;;
esac

((${#missing[@]})) || exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
# As root, or with passwordless sudo (CI runners), install them.
sudo=
if [ "$(id -u)" != 0 ] && have sudo && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
fi
if { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; } && have apt-get; then
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
if have apt-get; then
  echo "missing Debian packages: ${missing[*]}; install them with:" >&2
  echo "  sudo sh -c '$cmd'" >&2
else
  echo "missing: ${missing[*]} (Debian package names; install the equivalents with your system's package manager)" >&2
fi
exit 1
