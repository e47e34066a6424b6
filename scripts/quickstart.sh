#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build earth, and run it on the
# bundled example: list its targets, show their docs and AST, and print what
# `earth +all` would build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
earth="$root/build/earth"

show() {
  echo
  echo "\$ $*"
}
cd "$root/examples/go-service"
show earth ls -a
"$earth" ls -a
show earth doc -l +build
"$earth" doc -l +build
show "earth debug ast | sed -n 1,20p"
"$earth" debug ast | sed -n 1,20p # sed reads it all: no SIGPIPE under pipefail
show earth --dry-run +all
"$earth" --dry-run +all
echo
echo "earth is built: $earth"
