#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build earth, and run it on the
# bundled example.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
earth="$root/build/earth"
example="$root/examples/go-service"
echo
echo "\$ earth ls -a examples/go-service"
(cd "$root" && "$earth" ls -a examples/go-service)
echo
echo "\$ earth doc -l examples/go-service"
(cd "$root" && "$earth" doc -l examples/go-service)
echo
echo "\$ earth debug ast examples/go-service | head -20"
(cd "$root" && "$earth" debug ast examples/go-service | head -20)
echo
echo "earth is built: $earth"
