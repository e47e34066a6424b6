#!/usr/bin/env bash
# End-to-end tests of the size limit's running total <cache>/size (issue 9,
# docs/cache.md "The automatic limit"): a build adds what it made, a build
# killed before it did is counted by the next check, a torn total is
# recounted.
#
# Usage: EARTH=build/earth tests/e2e/limit_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))

total() { # the TOTAL field of <cache>/size (-1: unknown)
  local header version t rest
  read -r header version t rest <"$EARTH_CACHE_DIR/size"
  eq "$header $version" "earth-size 1" "the size record's version"
  if [[ $t == -* ]]; then echo -1; else echo $((10#$t)); fi
}

uncounted_logs() { # lease logs holding sizes the total lacks
  ls "$EARTH_CACHE_DIR/leases" | grep -v '\.a\.log$' | grep -c '\.log$' || true
}

big_and_small() {
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
big:
  RUN dd if=/dev/zero of=/big bs=1k count=3072 2>/dev/null
small:
  ARG N=0
  RUN echo small $N >/small.txt
  SAVE ARTIFACT /small.txt AS LOCAL out/small.txt
EOF
}

# A finished build's sizes are in the total, and its log says so.
test_build_adds_to_total() {
  setup
  big_and_small
  earth_ok +small
  local before
  before=$(total)
  ((before > 0)) || fail "no total after a build: $(cat "$EARTH_CACHE_DIR/size")"
  earth_ok +big
  local after
  after=$(total)
  ((after - before >= 3 * MiB)) || fail "the 3 MiB step was not added: $before -> $after"
  eq "$(uncounted_logs)" 0 "uncounted lease logs after finished builds"
  # Far under the limit: nothing removed, nothing said.
  EARTH_CACHE_SIZE=1G earth_ok +small --N=1
  log_lacks "over its limit"
}

# An image import or pull adds what it stored to the total itself: it
# leaves no uncounted lease log for the next build's check to recount.
test_import_adds_to_total() {
  setup
  eq "$(uncounted_logs)" 0 "uncounted lease logs after the import"
  "$earth" image import "$images_dir/busybox.oci.tar" other:1 >/dev/null
  eq "$(uncounted_logs)" 0 "uncounted lease logs after a second import"
}

# A build killed after it recorded its 3 MiB step, before it added it to the
# total: the total alone says the cache is under a limit it is over; the
# next build finds the dead, uncounted log, recounts and prunes. (Each
# build asks for a new step: a request its journal answers checks nothing.)
test_killed_build_is_counted() {
  setup
  big_and_small
  earth_ok +small
  local before status=0
  before=$(total)
  (EARTH_TEST_KILL_AT=snapshot-recorded:1 "$earth" +big >"$T/killed.log" 2>&1; exit $?) \
    2>/dev/null || status=$?
  eq "$status" 137 "the killed build's exit status"
  eq "$(total)" "$before" "the total after the kill"
  eq "$(uncounted_logs)" 1 "uncounted lease logs after the kill"
  EARTH_CACHE_SIZE=$((before + MiB)) earth_ok +small --N=1
  log_has "the cache is over its limit" "step result"
  eq "$(uncounted_logs)" 0 "uncounted lease logs after the recount"
  file_is out/small.txt "small 1"
}

# A torn total is never read as a number: the next build recounts, and
# prunes when the recount says so.
test_torn_total_is_recounted() {
  setup
  big_and_small
  earth_ok +big
  earth_ok +small
  local bound recounted
  bound=$(total)
  head -c 30 "$EARTH_CACHE_DIR/size" >"$T/torn"
  cp "$T/torn" "$EARTH_CACHE_DIR/size"
  EARTH_CACHE_SIZE=1G earth_ok +small --N=1
  log_lacks "over its limit"
  recounted=$(total)
  # An upper bound before, the exact figure now (with the new step).
  ((recounted > 3 * MiB && recounted <= bound + 64 * 1024)) ||
    fail "recounted $recounted, the total was $bound"
  cp "$T/torn" "$EARTH_CACHE_DIR/size"
  EARTH_CACHE_SIZE=2M earth_ok +small --N=2
  log_has "the cache is over its limit of 2.0 MiB" "step result"
  file_is out/small.txt "small 2"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: limit_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "limit_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
