#!/usr/bin/env bash
# End-to-end tests of small CLI fixes: short flags with an attached value
# (`-j1`, `-Pj2`) and build-arg names that are no identifiers.
#
# Usage: EARTH=build/earth tests/e2e/misc_test.sh CASE...   (--list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

test_short_flags_with_attached_values() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  FROM busybox
  RUN echo built > /b.txt
  SAVE ARTIFACT /b.txt AS LOCAL out/b.txt
EOF
  earth_ok -j1 +t
  file_is out/b.txt "built"
  earth_ok -Pj2 +t
  earth_fails -x1 +t
  log_has "-x1"
}

test_build_args_that_are_no_identifiers() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  FROM busybox
  ARG A=default
  RUN echo "$A" > /a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt
EOF
  printf 'wasi-src-dir=x\nA=from-file\n' >.arg
  earth_ok --build-arg my.arg=1 +t --other-flag=2
  file_is out/a.txt "from-file"
  printf '=v\n' >.arg
  earth_fails +t
  log_has "invalid build arg '=v'"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: misc_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "misc_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
