#!/usr/bin/env bash
# End-to-end tests of partial builds (docs/cache.md#partial-builds): when
# the request journal misses only because files of some targets' build
# contexts (or their outputs) changed, earth resolves and builds just the
# targets that change reaches, shows the rest as the journal does, and the
# result is the one the full path gives.
#
# Usage: EARTH=build/earth tests/e2e/partial_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# svc NAME: ./NAME, a service whose +build hashes its src/ into out.txt
# (AS LOCAL, in its own context, as the monorepo benchmark does).
svc() {
  mkdir -p "$1/src"
  echo "$1-a" >"$1/src/a.txt"
  cat >"$1/Earthfile" <<'EOF'
VERSION 0.8
FROM busybox
build:
  COPY src /src
  RUN cat $(find /src -type f | sort) | md5sum | cut -c1-8 >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF
}

# A monorepo: ./a, ./b and ./c; +all BUILDs a and b; c COPYs a's artifact
# (a reader of a) and is built by +all too.
project() {
  setup
  svc a
  svc b
  mkdir -p c
  cat >c/Earthfile <<'EOF'
VERSION 0.8
FROM busybox
use:
  COPY ../a+build/out.txt /a.txt
  RUN (echo from-a; cat /a.txt) >/c.txt
  SAVE ARTIFACT /c.txt AS LOCAL c.txt
EOF
  earthfile <<'EOF'
VERSION 0.8
all:
  BUILD ./a+build
  BUILD ./b+build
  BUILD ./c+use
EOF
}

build() { earth_ok --profile "$@"; }
hit() { log_has "journal: hit"; }
partial() { log_has "journal: partial build"; }
full() {
  log_lacks "journal: hit" "journal: partial build"
  log_has "resolve "
}
# settle: builds until the journal answers.
settle() {
  local i
  for i in 1 2 3 4 5; do
    sleep 0.03 # older than the racy window
    build "$@"
    grep -q "journal: hit" "$T/log" && return 0
  done
  fail "no journal hit after 5 builds"
}
# hash FILE...: what a.txt.. hash to, as the services compute it.
sum_of() { cat "$@" | md5sum | cut -c1-8; }
stamp() { stat -c '%i %Y.%y' "$1"; }
# the summary line without its time
summary() { grep -E "^Build succeeded" "$T/log" | sed -E 's/in [0-9.]+m?s/in T/; s/saved [0-9.]+m?s/saved T/'; }

test_source_change() {
  project
  settle +all
  local b_before
  b_before=$(stamp b/out.txt)
  echo more >>a/src/a.txt
  build +all
  partial
  log_has "journal: miss: a/src/a.txt changed (size, mtime, ctime)"
  log_has "outputs: 2 written" # a's and c's
  log_lacks "./b+build | --> COPY" # b is shown as reused, not walked
  file_is a/out.txt "$(sum_of a/src/a.txt)"
  file_is c/c.txt "$(printf 'from-a\n%s' "$(sum_of a/src/a.txt)")"
  eq "$(stamp b/out.txt)" "$b_before" "b/out.txt untouched"
  steps_run 6 # a: COPY, RUN, SAVE; c: the same (its COPY of a changed)
  settle +all
}

# A partial build shows the counts and outputs the full path shows.
test_same_summary() {
  project
  settle +all
  echo more >>b/src/a.txt
  build +all
  partial
  summary >"$T/partial.sum"
  grep -E "^  artifact " "$T/log" | sort >"$T/partial.out"
  echo more >>b/src/a.txt
  rm -rf "$EARTH_CACHE_DIR/journals"
  build +all
  full
  log_has "outputs: 1 of 3 written, the others unchanged" # b's: the full path leaves a's and c's
  summary >"$T/full.sum"
  grep -E "^  artifact " "$T/log" | sort >"$T/full.out"
  diff "$T/full.sum" "$T/partial.sum" >&2 || fail "the summaries differ"
  diff "$T/full.out" "$T/partial.out" >&2 || fail "the outputs differ"
  settle +all
  summary >"$T/hit.sum"
  grep -E "^  artifact " "$T/log" | sort >"$T/hit.out"
  grep -q "(0 built, 3 cached), 0 steps run" "$T/hit.sum" || fail "hit: $(cat "$T/hit.sum")"
  diff "$T/full.out" "$T/hit.out" >&2 || fail "the hit's outputs differ"
}

test_new_file() {
  project
  settle +all
  echo new >a/src/new.txt
  build +all
  partial
  file_is a/out.txt "$(sum_of a/src/a.txt a/src/new.txt)"
  rm a/src/new.txt
  sleep 0.03
  build +all
  partial
  file_is a/out.txt "$(sum_of a/src/a.txt)"
}

test_output_deleted() {
  project
  settle +all
  rm b/out.txt
  build +all
  partial
  # b/out.txt removed, and b's dir with it: whichever the table lists first
  grep -qE "journal: miss: b(/out.txt)? changed \((removed|mtime, ctime)\); 2 paths changed" \
    "$T/log" || fail "miss: $(grep 'journal: miss' "$T/log")"
  steps_run 0
  file_is b/out.txt "$(sum_of b/src/a.txt)"
  settle +all
}

test_earthfile_change() {
  project
  settle +all
  sed -i 's/cut -c1-8/cut -c1-6/' a/Earthfile
  build +all
  full
  eq "$(cat a/out.txt)" "$(sum_of a/src/a.txt | cut -c1-6)" "a/out.txt"
  settle +all
}

# Changes one after another: each partial journal carries what it did not
# rebuild, so a later change to anything is still seen.
test_chain() {
  project
  settle +all
  echo 1 >>a/src/a.txt
  build +all
  partial
  settle +all
  echo 2 >>b/src/a.txt
  build +all
  partial
  settle +all
  echo 3 >>a/src/a.txt
  build +all
  partial
  file_is a/out.txt "$(sum_of a/src/a.txt)"
  file_is b/out.txt "$(sum_of b/src/a.txt)"
  settle +all
  sed -i 's/from-a/from-A/' c/Earthfile
  build +all
  full
  log_has "./c+use | --> RUN"
  grep -q from-A c/c.txt || fail "c/c.txt: $(cat c/c.txt)"
}

# A target reached only by COPY is no output: a partial build that
# rebuilds it does not write its AS LOCAL artifact either.
test_not_output() {
  setup
  svc a
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
all:
  COPY ./a+build/out.txt /got.txt
  SAVE ARTIFACT /got.txt AS LOCAL got.txt
EOF
  settle +all
  no_file a/out.txt
  echo more >>a/src/a.txt
  build +all
  partial
  no_file a/out.txt
  file_is got.txt "$(sum_of a/src/a.txt)"
}

# Two instances of one target (different args) are shown with their args;
# a partial build shows them as the whole build did.
test_instances() {
  setup
  mkdir -p a/src
  echo x >a/src/a.txt
  cat >a/Earthfile <<'EOF'
VERSION 0.8
FROM busybox
build:
  ARG N=0
  COPY src /src
  RUN (echo n=$N; cat /src/a.txt) >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out-$N.txt
EOF
  earthfile <<'EOF'
VERSION 0.8
all:
  BUILD ./a+build --N=1
  BUILD ./a+build --N=2
EOF
  settle +all
  echo y >>a/src/a.txt
  build +all
  partial
  log_has "./a+build --N=1 | --> RUN" "./a+build --N=2 | --> RUN"
  file_is a/out-1.txt "$(printf 'n=1\nx\ny')"
  file_is a/out-2.txt "$(printf 'n=2\nx\ny')"
  log_has "artifact  ./a+build --N=1  $PWD/a/out-1.txt"
}

# svc_project SAVE_AS: a project with svc/, whose Earthfile's +build
# copies x.txt to /y.txt and saves it (SAVE ARTIFACT /y.txt SAVE_AS); the
# rest of svc/Earthfile comes from stdin.
svc_project() {
  setup
  mkdir -p svc
  echo x >svc/x.txt
  {
    printf 'VERSION 0.8\nFROM busybox\nbuild:\n  COPY x.txt /x.txt\n  RUN cp /x.txt /y.txt\n'
    printf '  SAVE ARTIFACT /y.txt%s\n' "$1"
    cat
  } >svc/Earthfile
}

# Two instances of one target that differ only by an override they pass
# on (an ARG of the caller's file, same-file implicit passing) have names of
# their own: each is shown and recorded with its own steps, at any -j.
test_passed_instances() {
  svc_project "" <<'EOF2'
image:
  ARG TAG=dev
  COPY +build/y.txt /z.txt
  RUN cat /z.txt
EOF2
  earthfile <<'EOF2'
VERSION 0.8
all:
  BUILD ./svc+build
  BUILD ./svc+image --TAG=dev
EOF2
  earth_ok --progress=plain -j 2 +all
  log_has "./svc+build (passes --TAG=dev)"
  local first
  first=$(summary)
  grep -qE "3 targets .*, 5 steps run, 3 cached" <<<"$first" || fail "first: $first"
  local i
  for i in 1 2 3; do
    rm -rf "$EARTH_CACHE_DIR/journals"
    earth_ok --progress=plain -j 2 +all
    log_has "3 targets (0 built, 3 cached), 0 steps run, 8 cached"
  done
}

# shown_of FILE: what a build showed of its targets, one "TARGET | WHAT"
# line each (WHAT: a step's command, or "done"), sorted, without times or
# cache marks: the plain printer's lines, or the json printer's
# step_cached and target_finished events.
shown_of() {
  {
    grep -F ' | ' "$1" || true
    grep -F '"event":"step_cached"' "$1" |
      sed -E 's/.*"target":"([^"]*)".*"command":"([^"]*)".*/\1 | \2/' || true
    grep -F '"event":"target_finished"' "$1" | sed -E 's/.*"target":"([^"]*)".*/\1 | done/' || true
  } | sed -E 's/ in [0-9.]+m?s$//; s/ \| \*cached\* (--> )?/ | /' | sort
}

# The monorepo's shape: ./svc+build saves an output (AS LOCAL), +test
# reads it by FROM, +image --TAG=dev by COPY. +image passes TAG on, so the
# +build it reads is an instance of its own, with the same input as the
# plain one: both reuse one target record.
monorepo() {
  svc_project " AS LOCAL dist/y.txt" <<'EOF2'
test:
  FROM +build
  RUN test -f /y.txt
image:
  ARG TAG=dev
  COPY +build/y.txt /z.txt
  SAVE IMAGE earth-e2e/svc:$TAG
EOF2
  earthfile <<'EOF2'
VERSION 0.8
all:
  BUILD ./svc+build
  BUILD ./svc+test
  BUILD ./svc+image --TAG=dev
EOF2
}

# A build that restores deleted outputs from the cache shows and counts
# every instance it reaches, each with its own steps, as the build after it
# does: the same request reports the same instances however its outputs
# were restored. (The two +build instances reuse one record; each used to
# show the steps under the name of the instance that wrote it, so in
# examples/monorepo after `rm -rf services/*/dist` one of them showed
# none of its own.)
test_restored_outputs_same_instances() {
  monorepo
  export EARTH_TARGET_PADDING=-1 # full names
  local progress run
  for progress in plain json; do
    settle +all
    rm -rf svc/dist
    for run in restored next; do
      build -V --progress=$progress +all
      [[ $run == next ]] || partial
      file_is svc/dist/y.txt x
      shown_of "$T/log" >"$T/$run.shown"
      grep -oE '(Build succeeded|"targets":[0-9]+).*' "$T/log" |
        sed -E 's/in [0-9.]+m?s/in T/; s/saved [0-9.]+m?s/saved T/; s/"(ms|duration_ms|saved_ms)":[0-9]+/"\1":T/g' \
          >"$T/$run.sum"
    done
    local instance
    for instance in "./svc+build" "./svc+build (passes --TAG=dev)"; do
      for run in restored next; do
        grep -qxF "$instance | done" "$T/$run.shown" || fail "$progress, $run: $instance is not shown"
        grep -qxF "$instance | RUN cp /x.txt /y.txt" "$T/$run.shown" ||
          fail "$progress, $run: $instance is not shown with its own steps"
      done
    done
    diff "$T/next.shown" "$T/restored.shown" >&2 || fail "$progress: the runs show other targets"
    diff "$T/next.sum" "$T/restored.sum" >&2 || fail "$progress: the summaries differ"
    grep -qE '(4 targets|"targets":4,)' "$T/restored.sum" || fail "$progress: $(cat "$T/restored.sum")"
  done
}

# A file of the project dir itself is no request input: adding one
# rebuilds only the targets whose context it is.
test_project_dir() {
  setup
  svc a
  echo one >top.txt
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
top:
  COPY top.txt /top.txt
  RUN cp /top.txt /copy.txt
  SAVE ARTIFACT /copy.txt AS LOCAL copy.txt
all:
  BUILD ./a+build
  BUILD +top
EOF
  settle +all
  echo two >top.txt
  build +all
  partial
  file_is copy.txt two
  echo three >other.txt
  sleep 0.03
  build +all
  partial
  log_has "+top | *cached* done"
}

# A partial build killed at any point (resolved, a step filled or
# recorded, the output set aside or replaced) leaves the previous journal:
# the next build comes out right, and the one after is answered.
test_killed() {
  project
  settle +all
  local point killed=0 status
  for point in resolved snapshot-filled:1 snapshot-recorded:1 snapshot-recorded:2 \
    snapshot-recorded:4 export-aside export-replaced:1 export-replaced:2; do
    echo "$point" >>a/src/a.txt
    status=0
    (EARTH_TEST_KILL_AT=$point "$earth" +all >"$T/killed.log" 2>&1; exit $?) 2>/dev/null || status=$?
    ((status == 137)) && killed=$((killed + 1))
    build +all
    file_is a/out.txt "$(sum_of a/src/a.txt)"
    file_is c/c.txt "$(printf 'from-a\n%s' "$(sum_of a/src/a.txt)")"
    file_is b/out.txt "$(sum_of b/src/a.txt)"
    settle +all
  done
  echo "kill points reached: $killed of 8"
  ((killed >= 6)) || fail "only $killed of 8 kill points were reached"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: partial_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "partial_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
