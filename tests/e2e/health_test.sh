#!/usr/bin/env bash
# End-to-end tests of the cache's health (issue 9): earth prune and the
# automatic size limit, two earth processes on one cache, and recovery from
# kill -9 at named points (EARTH_TEST_KILL_AT) and at swept delays.
#
# Usage: EARTH=build/earth tests/e2e/health_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# A RUN flag that appends to a run log shared by every target and build.
MARK='--mount=type=cache,id=health-runs,target=/runs,sharing=shared'

runs_of() { # runs_of NAME: how many times a step logged NAME
  local f
  f=$(grep -lx -m1 -r --include=log '.*' "$EARTH_CACHE_DIR/mounts" 2>/dev/null | head -1 || true)
  [[ -n $f ]] || { echo 0; return; }
  grep -cx "$1" "$f" || true
}

step_dirs() { ls "$EARTH_CACHE_DIR/steps" | wc -l; }

# ---------------------------------------------------------------- prune
test_prune() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
a:
  RUN $MARK echo a >>/runs/log && echo a >/a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt
  SAVE IMAGE health-a:latest
EOF
  earth_ok +a
  file_is out/a.txt a
  # Used just now: --keep-duration keeps it all.
  "$earth" prune --keep-duration 1h >"$T/log" 2>&1 || fail "earth prune --keep-duration"
  log_has "earth prune: removed nothing"
  # Everything unused goes, except the images named in images.json.
  "$earth" prune >"$T/log" 2>&1 || fail "earth prune"
  log_has "earth prune: removed " "step result" "the cache holds"
  eq "$(ls -A "$EARTH_CACHE_DIR/steps")" "" "steps/ after earth prune"
  "$earth" image ls >"$T/log" 2>&1
  log_has busybox health-a
  rm -rf out
  earth_ok +a
  eq "$(runs_of a)" 1 "runs of the step (the run log went with the mounts)"
  file_is out/a.txt a
  # --all: the images too.
  "$earth" prune --all >"$T/log" 2>&1 || fail "earth prune --all"
  log_has "image name"
  eq "$(ls -A "$EARTH_CACHE_DIR/blobs/sha256")" "" "blobs after prune --all"
  eq "$(ls -A "$EARTH_CACHE_DIR/snapshots")" "" "snapshots after prune --all"
  "$earth" image ls >"$T/log" 2>&1
  log_lacks busybox health-a
  earth_fails prune --keep-bytes lots
  log_has "not a size"
}

# A prune while a build runs removes nothing the build uses; the build
# succeeds and its result is whole.
test_prune_during_build() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
slow:
  RUN echo one >/one.txt
  RUN $MARK echo started >>/runs/log && sleep 2 && cat /one.txt >/two.txt
  SAVE ARTIFACT /two.txt AS LOCAL out/two.txt
EOF
  "$earth" +slow >"$T/build.log" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    [[ $(runs_of started) == 1 ]] && break
    sleep 0.1
  done
  "$earth" prune --all >"$T/log" 2>&1 || fail "earth prune during a build"
  wait "$pid" || { cp "$T/build.log" "$T/log"; fail "the build failed after a concurrent prune"; }
  file_is out/two.txt one
  "$earth" image ls >"$T/log" 2>&1
  log_has busybox # leased by the running build: --all left it
}

# EARTH_CACHE_SIZE: after a build over the limit, the least recently used
# entries of earlier builds go (never the running build's own) and earth
# says so.
test_size_limit() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
big:
  RUN $MARK echo big >>/runs/log && dd if=/dev/zero of=/big bs=1k count=2048 2>/dev/null
small:
  RUN $MARK echo small >>/runs/log && echo small >/small.txt
  SAVE ARTIFACT /small.txt AS LOCAL out/small.txt
failing:
  RUN echo failing && false
EOF
  earth_ok +big
  log_lacks "over its limit"
  EARTH_CACHE_SIZE=1M earth_ok +small
  log_has "the cache is over its limit of 1.0 MiB (EARTH_CACHE_SIZE)" "step result"
  file_is out/small.txt small
  EARTH_CACHE_SIZE=1M earth_ok +small
  # Reused whole: its steps are leased and stay (the busybox image alone is
  # over 1 MiB, so the RUN's cache mount, which a reused target does not
  # use, may go).
  steps_run 0
  log_lacks "step result"
  file_is out/small.txt small
  EARTH_CACHE_SIZE=0 earth_ok +big
  steps_run 1
  # After a failed build too (the failure is still what earth reports).
  EARTH_CACHE_SIZE=1M earth_fails +failing
  log_has "the cache is over its limit" "error: the command exited with status 1"
  EARTH_CACHE_SIZE=nonsense earth_fails +small
  log_has "EARTH_CACHE_SIZE"
}

# The records beside the step dirs — target records, step timings, explain
# records — go with the steps they describe and count in the sizes; --all
# clears them and the stat cache.
test_prune_records() {
  setup
  echo hi >in.txt
  earthfile <<EOF
VERSION 0.8
FROM busybox
a:
  COPY in.txt /in.txt
  RUN cat /in.txt >/a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt
EOF
  earth_ok +a
  local c=$EARTH_CACHE_DIR d
  for d in targets timings explain; do
    [[ -n $(ls -A "$c/$d") ]] || fail "$d/ is empty after a build"
  done
  [[ -f $c/stat-cache ]] || fail "no stat-cache after a build"
  "$earth" prune --keep-duration 1h >"$T/log" 2>&1 || fail "earth prune --keep-duration"
  log_has "earth prune: removed nothing"
  [[ -n $(ls -A "$c/targets") ]] || fail "a target record whose steps are kept was removed"
  [[ -n $(ls -A "$c/timings") ]] || fail "a timing whose step is kept was removed"
  # A timing whose step dir never existed is garbage.
  echo "earth.step-time.v1 5" >"$c/timings/$(printf '%064d' 0)"
  "$earth" prune --keep-duration 1h >"$T/log" 2>&1 || fail "earth prune --keep-duration"
  log_has "removed 1 step timing"
  ls "$c/steps" >"$T/steps"
  "$earth" prune >"$T/log" 2>&1 || fail "earth prune"
  log_has "step results" "target record" "step timing" "explain record"
  for d in steps timings; do
    eq "$(ls -A "$c/$d")" "" "$d/ after earth prune"
  done
  # What stays names no pruned step (the records of +base name only the
  # image's layers, which its name protects).
  ! grep -rlF -f "$T/steps" "$c/targets" "$c/explain" || fail "a record names a pruned step"
  [[ -n $(ls -A "$c/targets") ]] || fail "the record of +base, whose layers stay, was removed"
  [[ -f $c/stat-cache ]] || fail "earth prune without --all removed the stat cache"
  earth_ok +a
  log_lacks ", 0 steps run" # the steps were pruned: the target runs again
  file_is out/a.txt hi
  "$earth" prune --all >"$T/log" 2>&1 || fail "earth prune --all"
  log_has "stat cache"
  no_file "$c/stat-cache"
  for d in steps targets timings explain; do
    eq "$(ls -A "$c/$d")" "" "$d/ after earth prune --all"
  done
}

# A target reused whole leases the step dirs its record points to, as a step
# lookup does: a prune (here --keep-duration) sees them as used just now and
# keeps them, and the next no-op build still reuses the target.
test_reuse_leases() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
a:
  RUN echo a >/a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt
EOF
  earth_ok +a
  steps_run 2
  # Merge the build's lease log into usage, then make every use old.
  "$earth" prune --keep-duration 1h >"$T/log" 2>&1 || fail "earth prune --keep-duration"
  sed -i -E 's/^([SLBMO] [0-9a-f]{64}) [0-9]+ /\1 1000 /' "$EARTH_CACHE_DIR/usage"
  earth_ok +a
  steps_run 0
  "$earth" prune --keep-duration 1h >"$T/log" 2>&1 || fail "earth prune --keep-duration"
  log_has "earth prune: removed nothing"
  [[ -n $(ls -A "$EARTH_CACHE_DIR/steps") ]] || fail "the reused target's steps were pruned"
  rm -rf out
  earth_ok +a
  steps_run 0
  file_is out/a.txt a
}

# global.cache_size_mb in the config file sets the limit; EARTH_CACHE_SIZE
# wins over it.
test_size_limit_config() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
big:
  RUN dd if=/dev/zero of=/big bs=1k count=2048 2>/dev/null
small:
  RUN echo small >/small.txt
  SAVE ARTIFACT /small.txt AS LOCAL out/small.txt
EOF
  printf 'global:\n  cache_size_mb: 1\n' >"$T/config.yml"
  export EARTH_CONFIG=$T/config.yml
  EARTH_CACHE_SIZE=0 earth_ok +big
  log_lacks "over its limit"
  earth_ok +small
  log_has "the cache is over its limit of 1.0 MiB (global.cache_size_mb in the config file)" \
    "step result"
  file_is out/small.txt small
  EARTH_CACHE_SIZE=0 earth_ok +big
  steps_run 1
  log_lacks "over its limit"
  printf 'global:\n  cache_size_mb: 0\n' >"$T/config.yml" # 0: the default limit
  earth_ok +small
  log_lacks "over its limit"
}

# ---------------------------------------------------------------- formats
# A file of the cache in an unknown version is refused, naming the file and
# the way out; nothing is misread or overwritten.
test_unknown_versions() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
a:
  RUN echo a >/a.txt
EOF2
  earth_ok +a
  cp "$EARTH_CACHE_DIR/layout" "$T/layout"
  echo "earth-cache 99" >"$EARTH_CACHE_DIR/layout"
  earth_fails +a
  log_has "$EARTH_CACHE_DIR/layout: this cache has layout 'earth-cache 99'" "EARTH_CACHE_DIR"
  earth_fails prune
  log_has "$EARTH_CACHE_DIR/layout"
  eq "$(cat "$EARTH_CACHE_DIR/layout")" "earth-cache 99" "the layout file after the refusals"
  cp "$T/layout" "$EARTH_CACHE_DIR/layout"
  cp "$EARTH_CACHE_DIR/images.json" "$T/images.json"
  sed -i 's/"version": 1/"version": 7/' "$EARTH_CACHE_DIR/images.json"
  earth_fails +a
  log_has "images.json: unsupported image index version 7" "import or pull them again"
  cp "$T/images.json" "$EARTH_CACHE_DIR/images.json"
  echo "earth-usage 5" >"$EARTH_CACHE_DIR/usage"
  earth_fails prune
  log_has "$EARTH_CACHE_DIR/usage: unknown format 'earth-usage 5'" "delete it"
  rm "$EARTH_CACHE_DIR/usage"
  earth_ok +a
  steps_run 0
  earth_ok prune
}

# ---------------------------------------------------------------- concurrency
# Two earth processes build the same project at once: both succeed, with
# the same outputs, and each step ran once.
test_concurrent_same() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
lib:
  RUN $MARK echo lib >>/runs/log && sleep 1 && echo lib >/lib.txt
  SAVE ARTIFACT /lib.txt
all:
  COPY +lib/lib.txt /
  RUN $MARK echo all >>/runs/log && cat /lib.txt >/all.txt && echo all >>/all.txt
  SAVE ARTIFACT /all.txt AS LOCAL out/all.txt
  SAVE IMAGE health-all:latest
EOF
  "$earth" +all >"$T/one.log" 2>&1 &
  local one=$!
  "$earth" +all >"$T/two.log" 2>&1 &
  local two=$!
  wait "$one" || { cp "$T/one.log" "$T/log"; fail "the first build failed"; }
  wait "$two" || { cp "$T/two.log" "$T/log"; fail "the second build failed"; }
  eq "$(cat out/all.txt | tr '\n' ' ')" "lib all " "out/all.txt"
  eq "$(runs_of lib)" 1 "runs of +lib's RUN"
  eq "$(runs_of all)" 1 "runs of +all's RUN"
  earth_ok +all
  steps_run 0
}

# Two projects that share a library target build at once on one cache.
test_concurrent_overlap() {
  setup
  mkdir lib one two
  cat >lib/Earthfile <<EOF
VERSION 0.8
FROM busybox
lib:
  RUN $MARK echo lib >>/runs/log && sleep 1 && echo shared >/lib.txt
  SAVE ARTIFACT /lib.txt
EOF
  local p
  for p in one two; do
    cat >$p/Earthfile <<EOF
VERSION 0.8
FROM busybox
app:
  COPY ../lib+lib/lib.txt /
  RUN $MARK echo $p >>/runs/log && cat /lib.txt >/app.txt && echo $p >>/app.txt
  SAVE ARTIFACT /app.txt AS LOCAL out/app.txt
EOF
  done
  (cd one && "$earth" +app >"$T/one.log" 2>&1) &
  local a=$!
  (cd two && "$earth" +app >"$T/two.log" 2>&1) &
  local b=$!
  wait "$a" || { cp "$T/one.log" "$T/log"; fail "project one failed"; }
  wait "$b" || { cp "$T/two.log" "$T/log"; fail "project two failed"; }
  eq "$(tr '\n' ' ' <one/out/app.txt)" "shared one " "one/out/app.txt"
  eq "$(tr '\n' ' ' <two/out/app.txt)" "shared two " "two/out/app.txt"
  eq "$(runs_of lib)" 1 "runs of the shared target's RUN"
  eq "$(runs_of one)" 1 "runs of one's RUN"
}

# ---------------------------------------------------------------- kill -9
# The project of the kill tests: import (pull), unpack, COPY, RUNs, SAVE
# ARTIFACT, an AS LOCAL output and an image. $1: the input's value.
kill_project() {
  echo "$1" >input.txt
  earthfile <<EOF
VERSION 0.8
FROM busybox
ARG HEALTH_MARK=$mark
dep:
  COPY input.txt /
  RUN tr a-z A-Z </input.txt >/upper.txt && sleep 0.1
  SAVE ARTIFACT /upper.txt
all:
  COPY +dep/upper.txt /
  RUN cat /upper.txt /upper.txt >/result.txt
  RUN sleep 0.1 && wc -l </result.txt >/lines.txt
  SAVE ARTIFACT /result.txt AS LOCAL out/
  SAVE ARTIFACT /lines.txt AS LOCAL out/
  SAVE IMAGE health-kill:latest
EOF
}

# After a kill: nothing of the killed process runs or stays mounted, and the
# next build succeeds with the right outputs.
check_recovery() { # check_recovery VALUE WHAT
  local upper
  upper=$(tr a-z A-Z <<<"$1")
  ! grep -qF " $T/" /proc/self/mountinfo || fail "$2: a mount is left: $(grep -F " $T/" /proc/self/mountinfo)"
  ! grep -qs "HEALTH_MARK=$mark" /proc/[0-9]*/environ || fail "$2: a sandbox is still running"
  "$earth" image import "$images_dir/busybox.oci.tar" busybox:latest >"$T/log" 2>&1 ||
    fail "$2: import after the kill"
  "$earth" +all >"$T/log" 2>&1 || fail "$2: the build after the kill failed"
  cp "$T/log" "$T/build.log"
  eq "$(tr '\n' ' ' <out/result.txt)" "$upper $upper " "$2: out/result.txt"
  eq "$(cat out/lines.txt)" 2 "$2: out/lines.txt"
  [[ -z $(find out -name '.earth-tmp-*') ]] || fail "$2: temp files left in out/: $(ls -A out)"
  "$earth" image ls >"$T/log" 2>&1
  log_has health-kill
  # Opening the store removed the temp dirs of every dead process.
  local left
  left=$(ls -A "$EARTH_CACHE_DIR/tmp" | tr '\n' ' ')
  [[ -z $left ]] || fail "$2: left in \$EARTH_CACHE_DIR/tmp: $left"
  cp "$T/build.log" "$T/log" # for the caller's checks of the summary
}

# killed CMD...: runs earth with EARTH_TEST_KILL_AT set by the caller;
# true when it died of SIGKILL.
killed() {
  local status=0
  ("$earth" "$@" >"$T/killed.log" 2>&1; exit $?) 2>/dev/null || status=$? # no "Killed" notice
  ((status == 137))
}

# Every named kill point, several times each, in import, unpack, steps,
# export and prune; each recovery checked. (The delay sweep below covers
# parse and the middle of RUNs.)
test_kill_points() {
  setup
  mark=$RANDOM$RANDOM
  local n=0 hit=0 point total=0
  local points=(resolved resolved:1 blob-recorded:1 blob-recorded:2 blob-recorded:3
    snapshot-filled:1 snapshot-filled:2 snapshot-filled:3 snapshot-filled:4 snapshot-filled:5
    snapshot-recorded:1 snapshot-recorded:2 snapshot-recorded:3 snapshot-recorded:4
    snapshot-recorded:5 snapshot-renamed:1 snapshot-renamed:3 export-aside export-replaced:1
    export-replaced:2 image-committed
    blob-recorded:4 blob-recorded:5 prune-moved:1 prune-moved:3)
  for point in "${points[@]}"; do
    n=$((n + 1)) total=$((total + 1))
    kill_project "v$total"
    case $point in
    blob-recorded:[1-3]) # importing the base image
      "$earth" prune --all >/dev/null 2>&1
      EARTH_TEST_KILL_AT=$point killed image import "$images_dir/busybox.oci.tar" busybox:latest &&
        hit=$((hit + 1))
      ;;
    snapshot-*:[1-2]) # unpacking the base image, then the first steps
      "$earth" prune --all >/dev/null 2>&1
      "$earth" image import "$images_dir/busybox.oci.tar" busybox:latest >/dev/null
      EARTH_TEST_KILL_AT=$point killed +all && hit=$((hit + 1))
      ;;
    prune-*)
      "$earth" +all >/dev/null 2>&1
      kill_project "w$total" # the previous results become unused
      "$earth" +all >/dev/null 2>&1
      EARTH_TEST_KILL_AT=$point killed prune && hit=$((hit + 1))
      ;;
    *)
      EARTH_TEST_KILL_AT=$point killed +all && hit=$((hit + 1))
      ;;
    esac
    ((hit == n)) || { echo "not reached: $point"; n=$hit; }
    case $point in
    prune-*) kill_project "w$total" ;;
    esac
    check_recovery "$(cat input.txt)" "kill at $point"
    case $point in
    export-* | image-committed) steps_run 0 ;; # every step was complete: all reused
    esac
  done
  ((hit >= total - 2)) || fail "only $hit of $total kill points were reached"
  echo "kill points reached: $hit of ${#points[@]}"
}

# kill -9 after a swept delay, from start-up (parse) through the RUNs to
# the export; each recovery checked. The delays are fractions of a measured
# build of a fresh project, so the sweep covers the whole build however fast
# the machine (and earth) is.
test_kill_sweep() {
  setup
  mark=$RANDOM$RANDOM
  local n=0 ms pid landed=0 i t0 took
  kill_project warm
  earth_ok +all # unpacked and warm: the sweep times the build itself
  kill_project timed
  t0=$(date +%s%N)
  earth_ok +all
  took=$((($(date +%s%N) - t0) / 1000000))
  echo "a fresh build takes ${took} ms"
  for i in $(seq 0 29); do
    ms=$((i * took / 27))
    n=$((n + 1))
    kill_project "s$n"
    "$earth" +all >"$T/killed.log" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    # A kill that came too late (the build was faster than the timed one,
    # as on a machine whose load fell): later delays shrink.
    if kill -9 "$pid" 2>/dev/null; then landed=$((landed + 1)); else took=$((took * 3 / 4)); fi
    { wait "$pid"; } 2>/dev/null || true
    check_recovery "s$n" "kill after ${ms} ms"
  done
  echo "kill delays: $n, of which $landed killed a running earth"
  ((landed >= 20)) || fail "only $landed of $n kills hit a running build"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: health_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "health_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
