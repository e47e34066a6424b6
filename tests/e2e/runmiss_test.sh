#!/usr/bin/env bash
# End-to-end tests of the cheap RUN miss (issue 7): a RUN that changed
# nothing is a line of <cache>/steps-empty, not a step dir (docs/formats.md,
# "Empty steps"); several of them stack as one shared lower dir.
#
# Usage: EARTH=build/earth tests/e2e/runmiss_test.sh CASE...  (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# step_dirs: how many dirs steps/ holds
step_dirs() {
  find "$EARTH_CACHE_DIR/steps" -mindepth 1 -maxdepth 1 -type d | wc -l
}

# empty_records: how many keys steps-empty holds
empty_records() {
  if [[ -f $EARTH_CACHE_DIR/steps-empty ]]; then
    grep -cE '^[0-9a-f]{64}$' "$EARTH_CACHE_DIR/steps-empty" || true
  else
    echo 0
  fi
}

# Three RUNs that change nothing, between RUNs that write: no dir of their
# own, one record each, the layers around them intact; a rerun runs nothing
# (their records are hits), and another earth process sees the records.
test_empty_runs_are_records() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  RUN echo one >/one.txt
  RUN true
  RUN test -f /one.txt
  RUN echo two >/two.txt
  RUN cat /one.txt >/dev/null
  RUN cat /one.txt /two.txt >/both.txt
  SAVE ARTIFACT /both.txt AS LOCAL out/both.txt
EOF2
  earth_ok +t
  file_is out/both.txt $'one\ntwo'
  steps_run 7
  eq "$(empty_records)" 3 "records in steps-empty"
  head -1 "$EARTH_CACHE_DIR/steps-empty" | grep -qx 'earth-empty-steps 1' ||
    fail "steps-empty header: $(head -1 "$EARTH_CACHE_DIR/steps-empty")"
  local dirs
  dirs=$(step_dirs)
  rm -rf out
  earth_ok +t
  steps_run 0
  file_is out/both.txt $'one\ntwo'
  eq "$(step_dirs)" "$dirs" "step dirs after a rerun"
  # --no-cache: every step runs again, and none is kept (no build could
  # reuse it): no record, no dir.
  earth_ok --no-cache +t
  steps_run 7
  file_is out/both.txt $'one\ntwo'
  eq "$(empty_records)" 3 "records after --no-cache"
  eq "$(step_dirs)" "$dirs" "step dirs after --no-cache"
  # What the build keeps in its temp dir till the next earth removes it is
  # at most an empty spare step dir.
  eq "$(find "$EARTH_CACHE_DIR/tmp" -mindepth 3 | wc -l)" 0 "left in the build's temp dir"
}

# RUNs that touch only metadata or delete something are not empty.
test_changes_keep_a_dir() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  RUN chmod 700 /
  RUN rm /bin/true
  RUN mkdir /d
  RUN test ! -e /bin/true && test -d /d && echo gone >/gone.txt
  SAVE ARTIFACT /gone.txt AS LOCAL out/gone.txt
EOF2
  earth_ok +t
  file_is out/gone.txt gone
  eq "$(empty_records)" 0 "records in steps-empty"
  # The chmod's layer is a dir of its own holding just its root's mode.
  eq "$(find "$EARTH_CACHE_DIR/steps" -mindepth 1 -maxdepth 1 -type d -perm 700 -empty | wc -l)" 1 \
    "step dirs that are an empty root of mode 700"
}

# A log of another version is left alone: steps keep their dirs. prune --all
# removes the log.
test_other_version_and_prune() {
  setup
  printf 'earth-empty-steps 9\n' >"$EARTH_CACHE_DIR/steps-empty"
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  ARG V=1
  RUN true $V
  RUN true $V
  RUN echo x >/x.txt
  SAVE ARTIFACT /x.txt AS LOCAL out/x.txt
EOF2
  earth_ok +t
  file_is out/x.txt x
  eq "$(cat "$EARTH_CACHE_DIR/steps-empty")" "earth-empty-steps 9" "the other version's log"
  rm "$EARTH_CACHE_DIR/steps-empty"
  earth_ok +t --V=2 # new keys: the empty RUNs run again
  eq "$(empty_records)" 2 "records with a log of this version"
  earth_ok prune --all
  no_file "$EARTH_CACHE_DIR/steps-empty"
  earth_ok image import "$images_dir/busybox.oci.tar" busybox:latest
  earth_ok +t
  steps_run 4
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: runmiss_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "runmiss_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
