#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build earth, make the busybox
# base image (offline, from Debian's busybox-static), then build the bundled
# example examples/hello for real — twice: the second run reuses every step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
earth="$root/build/earth"
EARTH="$earth" "$root/scripts/base-images.sh" --busybox-only

show() {
  echo
  echo "\$ $*"
}
cd "$root/examples/hello"
show earth ls
"$earth" ls
show earth +all
"$earth" +all
show cat out/greeting.txt
cat out/greeting.txt
show "earth +all   # again: nothing changed, so no step runs"
"$earth" +all
show earth debug run earth-examples/hello:latest
"$earth" debug run earth-examples/hello:latest
echo
echo "earth is built: $earth  (outputs of the example: examples/hello/out/, image earth-examples/hello:latest)"
