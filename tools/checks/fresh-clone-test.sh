#!/usr/bin/env bash
# Proves the README's promise: on a fresh clone, `make test` sets up what it
# needs and passes. It clones this repository's HEAD (committed work only)
# into a temporary folder and runs `make test` there.
#
#   tools/checks/fresh-clone-test.sh [--without redis|java|both]
#
# --without removes the named Debian packages first (as root only), so the
# run also proves that `make test` installs them again. It changes this
# machine: run it on a throw-away machine or CI runner.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

without=
if [ "${1:-}" = --without ]; then
  without=${2:?--without redis|java|both}
fi
if [ -n "$without" ]; then
  [ "$(id -u)" = 0 ] || { echo "--without removes Debian packages: run as root" >&2; exit 2; }
  pkgs=()
  case "$without" in
  redis) pkgs=(redis-server redis-tools) ;;
  java) pkgs=(openjdk-17-jre-headless) ;;
  both) pkgs=(redis-server redis-tools openjdk-17-jre-headless) ;;
  *) echo "--without redis|java|both" >&2; exit 2 ;;
  esac
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
  for cmd in redis-server redis-cli; do
    if [ "$without" != java ] && command -v "$cmd" >/dev/null; then
      echo "$cmd is still on PATH ($(command -v "$cmd")): not a machine without it" >&2
      exit 1
    fi
  done
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q --no-hardlinks . "$dir/shop"
cd "$dir/shop"
start=$(date +%s)
make test
echo "fresh clone: make test passed in $(($(date +%s) - start)) s"
