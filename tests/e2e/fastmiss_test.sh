#!/usr/bin/env bash
# End-to-end tests of a one-target rebuild's bookkeeping (issue 9): the stat
# cache appended to rather than rewritten, a torn tail dropped; step dirs
# recorded with their renames synced once per build.
#
# Usage: EARTH=build/earth tests/e2e/fastmiss_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

size_of() { stat -c %s "$1"; }

project() {
  mkdir -p src
  echo one >src/a.txt
  echo two >src/b.txt
  echo out.txt >.earthlyignore
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY src /src
  RUN cat /src/a.txt /src/b.txt >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF2
  age src/a.txt src/b.txt Earthfile .earthlyignore
  sleep 0.1
}

# add_c_txt WHAT: a new source file, older than the racy window, built: the
# build hashes it alone.
add_c_txt() {
  echo three >src/c.txt
  age src/c.txt
  sleep 0.1 # its ctime too: out of the racy window
  earth_ok --profile +t
  eq "$(hashed)" "1 hashed, 7 from the stat cache" "$1"
}

# A build that hashes a new file appends one record to the index and
# leaves the bytes before it as they were; the next build finds it.
test_stat_cache_appends() {
  setup
  project
  earth_ok --profile +t
  local index=$EARTH_CACHE_DIR/stat-cache
  cp "$index" "$T/before"
  local before
  before=$(size_of "$index")
  add_c_txt "after a new file"
  local after
  after=$(size_of "$index")
  ((after > before)) || fail "the index did not grow ($before -> $after bytes)"
  # One record: the path, five stat fields, a digest, a check.
  local path
  path=$(pwd -P)/src/c.txt
  local path_len=${#path}
  eq "$((after - before))" "$((4 + path_len + 40 + 32 + 8))" "bytes appended"
  cmp -n "$before" "$index" "$T/before" || fail "the bytes before the record changed"
  earth_ok --profile +t
  eq "$(hashed)" "0 hashed, 5 from the stat cache" "a build after the append"
  steps_run 0
}

# A torn tail (a power cut during an append) is dropped: the entries before
# it are still used, and the next build that saves rewrites the index whole.
test_stat_cache_torn_tail() {
  setup
  project
  earth_ok --profile +t
  local index=$EARTH_CACHE_DIR/stat-cache
  local whole
  whole=$(size_of "$index")
  printf '\x20\x00\x00\x00/half a record' >>"$index"
  add_c_txt "after a torn tail"
  # Rewritten: no garbage left, one more entry than the first index held.
  local rewritten
  rewritten=$(size_of "$index")
  ((rewritten > whole)) || fail "the index was not rewritten ($whole -> $rewritten bytes)"
  ! grep -q 'half a record' "$index" || fail "the torn tail is still there"
  earth_ok --profile +t
  eq "$(hashed)" "0 hashed, 5 from the stat cache" "a build after the rewrite"
}

# Every step a build records is in steps/ when it ends, and a later build
# reuses them all (their renames were made durable, not just done).
test_steps_recorded() {
  setup
  project
  earth_ok +t
  steps_run 3
  local n
  n=$(find "$EARTH_CACHE_DIR/steps" -mindepth 1 -maxdepth 1 -type d | wc -l)
  ((n >= 3)) || fail "expected the COPY, RUN and SAVE ARTIFACT dirs in steps/, found $n"
  echo ONE >src/a.txt
  age src/a.txt
  earth_ok +t
  file_is out.txt "ONE
two"
  earth_ok +t
  steps_run 0
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: fastmiss_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "fastmiss_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
