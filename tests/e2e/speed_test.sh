#!/usr/bin/env bash
# End-to-end tests of the unchanged path (issue 9): the stat cache, target
# skipping, --explain and `earth debug keys`, on busybox.
#
# Usage: EARTH=build/earth tests/e2e/speed_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# hashed: "N hashed, M from the stat cache" from the last --profile log.
hashed() {
  grep -oE 'files: [0-9]+ hashed, [0-9]+ from the stat cache' "$T/log" | sed 's/files: //'
}

# Makes `path` older than the stat cache's racy window (git's racy rule).
age() {
  touch -d '-10 seconds' "$@"
}

# ---------------------------------------------------------------- stat cache
test_stat_cache() {
  setup
  mkdir -p src/sub
  echo one >src/a.txt
  echo two >src/sub/b.txt
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY src /src
  RUN cat /src/a.txt /src/sub/b.txt >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF2
  age src/a.txt src/sub/b.txt
  earth_ok --profile +t
  eq "$(hashed)" "2 hashed, 0 from the stat cache" "first build"
  [[ -s $EARTH_CACHE_DIR/stat-cache ]] || fail "no stat-cache index"
  earth_ok --profile +t
  eq "$(hashed)" "0 hashed, 2 from the stat cache" "second build"
  steps_run 0
  # An edit with the same size and a restored mtime still changes the
  # ctime: read again, and the COPY runs.
  echo ONE >src/a.txt
  touch -r src/sub/b.txt src/a.txt
  earth_ok --profile +t
  eq "$(hashed)" "1 hashed, 1 from the stat cache" "after an edit"
  file_is out.txt "ONE
two"
  # A file the index no longer knows is read again (a damaged index is ignored).
  printf 'garbage' >"$EARTH_CACHE_DIR/stat-cache"
  earth_ok --profile +t
  eq "$(hashed)" "2 hashed, 0 from the stat cache" "after a damaged index"
  steps_run 0
}

# A file written just before the build is racy: hashed, not recorded.
test_stat_cache_racy() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY a.txt /a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out.txt
EOF2
  echo one >a.txt
  touch -d '+1 hour' a.txt # in the future: racy on every build
  earth_ok --profile +t
  earth_ok --profile +t
  eq "$(hashed)" "1 hashed, 0 from the stat cache" "a racy file"
  echo ONE >a.txt
  touch -d '+1 hour' a.txt
  earth_ok +t
  file_is out.txt ONE
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: speed_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "speed_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
