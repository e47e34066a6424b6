#!/usr/bin/env bash
# End-to-end tests of host-side fixes: the base recipe (+base) built once per
# build however many Contexts reach it (WAIT, IF), sibling LOCALLY commands
# stopped when a step fails or earth is interrupted, and RUN --interactive on
# a real pseudo-terminal. One function per case.
#
# Usage: EARTH=build/earth tests/e2e/locally2_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- +base once
# A LOCALLY base recipe counts its runs: the targets inheriting it, built by
# nested builds (WAIT, IF) and by the scheduler, share one run of it.
test_base_once() {
  setup
  earthfile <<'EOF'
VERSION 0.8
LOCALLY
RUN echo run >>counter
a:
  RUN echo a
b:
  RUN echo b
all:
  BUILD +a
  BUILD +b
wait:
  WAIT
    BUILD +a
    BUILD +b
  END
if:
  IF true
    BUILD +a
  END
  BUILD +b
EOF
  local t
  for t in all wait if; do
    rm -f counter
    earth_ok +$t
    eq "$(wc -l <counter)" 1 "runs of the LOCALLY base recipe for +$t"
  done
}

# The same with a base recipe that builds an image: its RUN is not cached
# (--no-cache), so two runs would show twice.
test_base_once_image() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
RUN --no-cache echo base-ran
a:
  RUN --no-cache echo a
b:
  RUN --no-cache echo b
wait:
  WAIT
    BUILD +a
    BUILD +b
  END
EOF
  earth_ok +wait
  eq "$(grep -c '| base-ran$' "$T/log")" 1 "runs of the base recipe's RUN"
}

# ---------------------------------------------------------------- stopping
# A sibling LOCALLY command `sleep 30; touch marker` is stopped within
# seconds when another target fails: in parallel (BUILD), in a WAIT's
# BUILDs, and as a step of the WAIT block itself; no process is left.
test_failure_stops_locally() {
  setup
  local tag=e2e-locally2-$$
  earthfile <<EOF
VERSION 0.8
slow:
  LOCALLY
  RUN : $tag && sleep 30 && touch marker-\$WHERE
bad:
  FROM busybox
  RUN sleep 1 && false
all:
  BUILD +slow --WHERE=all
  BUILD +bad
wait:
  LOCALLY
  WAIT
    BUILD +slow --WHERE=wait
    BUILD +bad
  END
block:
  LOCALLY
  WAIT
    BUILD +bad
    RUN : $tag && sleep 30 && touch marker-block
  END
own:
  LOCALLY
  WAIT
    BUILD +slow --WHERE=own
    RUN sleep 1 && false
  END
EOF
  local t start took
  for t in all wait block own; do
    start=$(date +%s)
    earth_fails +$t
    took=$(($(date +%s) - start))
    ((took < 10)) || fail "+$t: the build took ${took}s: the LOCALLY sleep ran to its end"
    eq "$status" 1 "+$t exit status"
    if [[ $t == own ]]; then
      log_has "RUN sleep 1 && false" "(LOCALLY, on the host)"
    else
      log_has "Earthfile:7:3: error: the command exited with status 1"
    fi
    log_lacks "error: interrupted"
    ! pgrep -f "$tag" >/dev/null || fail "+$t: a LOCALLY command is still running: $(pgrep -af "$tag")"
  done
  log_has "stopped: the build failed or was interrupted"
  sleep 1
  no_file marker-all
  no_file marker-wait
  no_file marker-block
  no_file marker-own
}

# Ctrl-C (SIGINT to earth) stops a running LOCALLY command and its children.
test_interrupt_stops_locally() {
  setup
  local tag=e2e-locally2-int-$$
  earthfile <<EOF
VERSION 0.8
slow:
  LOCALLY
  RUN : $tag && (sleep 30 && touch marker-child) & sleep 30 && touch marker
EOF
  "$earth" +slow >"$T/log" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    pgrep -f "$tag" >/dev/null && break
    sleep 0.1
  done
  pgrep -f "$tag" >/dev/null || fail "the LOCALLY command did not start"
  kill -INT "$pid"
  status=0
  wait "$pid" || status=$?
  eq "$status" 130 "exit status after SIGINT"
  ! pgrep -f "$tag" >/dev/null || fail "a LOCALLY process is still running: $(pgrep -af "$tag")"
  log_has "stopped: the build failed or was interrupted"
  no_file marker
  no_file marker-child
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: locally2_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "locally2_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
