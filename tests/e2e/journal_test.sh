#!/usr/bin/env bash
# End-to-end tests of the request journal (docs/cache.md#the-request-journal):
# an unchanged request is answered from stats alone ("journal: hit" in
# --profile), and every change that could alter the result makes it miss and
# the build come out right.
#
# Usage: EARTH=build/earth tests/e2e/journal_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# A project: +all BUILDs +app, which copies src/ and the imported ./lib's
# artifact, and saves a listing of what it saw AS LOCAL out/seen.txt.
project() {
  setup
  mkdir -p src/sub lib
  echo one >src/a.txt
  echo sub >src/sub/b.txt
  cat >lib/Earthfile <<'EOF'
VERSION 0.8
FROM busybox
word:
  RUN echo lib-v1 >/word.txt
  SAVE ARTIFACT /word.txt
EOF
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ARG --global NAME=default
app:
  COPY src src
  COPY ./lib+word/word.txt .
  RUN (echo "name=$NAME"; cat word.txt; find src -type f | sort; cat src/a.txt) >/seen.txt
  SAVE ARTIFACT /seen.txt AS LOCAL out/seen.txt
all:
  BUILD +app
EOF
}

# build ARGS...: `earth --profile ARGS`; the log holds the profile too.
build() { earth_ok --profile "$@"; }
hit() { log_has "journal: hit"; }
miss() { log_lacks "journal: hit"; }
# warm ARGS...: builds until the journal answers (what a build just wrote
# is too recent to trust: the racy-clean rule; an output written into a
# directory the build read makes the next build a partial one), then proves
# the next build takes it too.
warm() {
  local i
  for i in 1 2 3 4 5; do
    build "$@"
    grep -qE "journal: hit" "$T/log" && break
    sleep 0.03
  done
  grep -qE "journal: hit" "$T/log" || fail "no journal hit after 5 builds"
  build "$@"
  hit
}
seen_has() { grep -qxF -- "$1" out/seen.txt || fail "out/seen.txt lacks '$1': $(cat out/seen.txt)"; }

test_fast_path() {
  project
  warm +all
  log_has "artifact  +app" "(0 built, 2 cached), 0 steps run"
  log_lacks "resolve "   # no resolve pass in the profile
  seen_has "name=default"
}

# The fast path shows what the full no-op path shows (plain, JSON, and
# plain with -V), less each cached step's line or event without -V (the
# compact replay, docs/output.md).
test_same_output() {
  project
  warm +all
  local p
  for p in plain json plain-V; do
    local flags=(-j 1 --progress=${p%-V}) # one worker: the same order of events every run
    [[ $p == *-V ]] && flags+=(-V)
    rm -rf "$EARTH_CACHE_DIR/journals"
    earth_ok "${flags[@]}" +all
    sed -E 's/[0-9]+(\.[0-9]+)?(ms|s)\b/T/g; s/"ms":[0-9]+/"ms":T/g; s/"(took|wall|duration)[a-z_]*":[0-9]+/"\1":T/g' \
      "$T/log" >"$T/full.$p"
    [[ $p == *-V ]] || sed -i -E '/\*cached\* -->|"event":"step_cached"/d' "$T/full.$p"
    warm "${flags[@]}" +all # until a build writes the journal and the next takes it
    earth_ok "${flags[@]}" +all
    sed -E 's/[0-9]+(\.[0-9]+)?(ms|s)\b/T/g; s/"ms":[0-9]+/"ms":T/g; s/"(took|wall|duration)[a-z_]*":[0-9]+/"\1":T/g' \
      "$T/log" >"$T/fast.$p"
    diff "$T/full.$p" "$T/fast.$p" >&2 || fail "$p: the fast path shows something else"
  done
  earth_ok --profile --progress=json +all
  hit
}

test_edit_context() {
  project
  warm +all
  echo two >src/a.txt
  build +all
  miss
  seen_has "two"
}

test_touch() {
  project
  warm +all
  sleep 0.05
  touch src/a.txt
  build +all
  miss
  steps_run 0
  seen_has "one"
  warm +all
}

test_add_file() {
  project
  warm +all
  echo new >src/sub/new.txt
  build +all
  miss
  seen_has "src/sub/new.txt"
}

test_earthlyignore() {
  project
  warm +all
  echo "src/sub" >.earthlyignore
  build +all
  miss
  ! grep -q "src/sub/b.txt" out/seen.txt || fail "src/sub is ignored: $(cat out/seen.txt)"
  # An edit of an existing ignore file changes no directory.
  warm +all
  echo "nothing" >.earthlyignore
  build +all
  miss
  seen_has "src/sub/b.txt"
}

test_edit_earthfile() {
  project
  warm +all
  sed -i 's/NAME=default/NAME=changed/' Earthfile
  build +all
  miss
  seen_has "name=changed"
}

test_edit_import() {
  project
  warm +all
  sed -i 's/lib-v1/lib-v2/' lib/Earthfile
  build +all
  miss
  seen_has "lib-v2"
}

test_build_arg() {
  project
  warm +all --NAME=one
  build +all --NAME=two
  miss
  seen_has "name=two"
  # Its own journal, but the output it wrote is not there any more.
  build +all --NAME=one
  miss
  seen_has "name=one"
}

test_env() {
  project
  warm +all
  EARTH_BUILD_ARGS=NAME=from-env build +all
  miss
  seen_has "name=from-env"
  build +all
  miss
  seen_has "name=default"
}

test_arg_file() {
  project
  warm +all
  echo "NAME=from-arg-file" >.arg
  build +all
  miss
  seen_has "name=from-arg-file"
}

test_output_deleted() {
  project
  warm +all
  rm out/seen.txt
  build +all
  miss
  seen_has "name=default"
  warm +all
  echo edited >out/seen.txt
  build +all
  miss
  seen_has "name=default"
}

test_prune_all() {
  project
  warm +all
  "$earth" prune --all >"$T/log" 2>&1 || fail "earth prune --all"
  "$earth" image import "$images_dir/busybox.oci.tar" busybox:latest >/dev/null
  build +all
  miss
  log_has "(2 built, 0 cached)"
  seen_has "name=default"
}

test_image_rm() {
  setup
  earthfile <<'EOF'
VERSION 0.8
img:
  FROM busybox
  RUN echo x >/x
  SAVE IMAGE e2e-journal:latest
EOF
  warm +img
  "$earth" image rm e2e-journal:latest >/dev/null || fail "earth image rm"
  build +img
  miss
  "$earth" image ls >"$T/log" 2>&1
  log_has "e2e-journal:latest"
}

# A build that saves a changed image rewrites the image index, a request
# path: that rewrite is its own, so the build is journaled and the next one
# is a hit (it used to take the full path once more).
test_saved_image_journaled() {
  setup
  echo 1 >a.txt
  earthfile <<'EOF'
VERSION 0.8
img:
  FROM busybox
  COPY a.txt /a.txt
  RUN cat /a.txt >/b.txt
  SAVE IMAGE e2e-journal:latest
EOF
  warm +img
  echo 2 >a.txt
  sleep 0.05 # older than the racy window
  build +img
  log_has "journal: written"
  build +img
  hit
  "$earth" image ls >"$T/log" 2>&1
  log_has "e2e-journal:latest"
}

test_no_cache_run() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  FROM busybox
  RUN --no-cache echo always
EOF
  build +t
  build +t
  build +t
  miss
  log_has "journal: not written"
  steps_run 1
}

# A build that ran a step writes the journal its next no-op takes (the
# output is outside the build context: .earthlyignore).
test_written_after_run() {
  project
  echo out >.earthlyignore
  warm +all
  sleep 0.05 # the edit is not racy: older than the build's start by 20 ms
  echo two >src/a.txt
  sleep 0.05
  build +all
  steps_run 4
  log_has "journal: written"
  seen_has "two"
  build +all
  hit
  steps_run 0
  log_has "(0 built, 2 cached)"
  seen_has "two"
  # And what the hit trusted still misses on every kind of change.
  echo edited >out/seen.txt
  build +all
  miss
  seen_has "two"
}

# An output written into its own target's context changes that context: the
# next build keys the target anew (its steps are hits), so the build that
# wrote it is not journaled; that next build is.
# An output written into a directory the build reads (its own context):
# the journal keeps what the build read, so the next build rebuilds that
# target alone (a partial build whose steps all hit), and the one after is
# a hit.
test_output_in_context() {
  project
  warm +all
  sleep 0.05
  echo two >src/a.txt
  sleep 0.05
  build +all
  log_has "journal: written"
  seen_has "two"
  sleep 0.05 # what that build wrote is older than the racy window
  build +all
  miss
  log_has "journal: partial build"
  steps_run 0
  log_has "journal: written"
  build +all
  hit
}

# A build answered by the journal shows each target's line and the summary;
# -V shows every cached step too, as the full path does.
test_compact_replay() {
  project
  echo out >.earthlyignore
  warm +all
  log_has "+app | *cached* done"
  log_lacks "*cached* --> RUN"
  earth_ok -V +all
  log_has "*cached* --> RUN" "+app | *cached* done"
  earth_ok --progress=json +all
  grep -q '"event":"target_finished".*"cached":true' "$T/log" || fail "no target_finished: $(cat "$T/log")"
  grep -q '"event":"build_finished".*"steps_cached":6' "$T/log" || fail "no summary: $(cat "$T/log")"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: journal_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "journal_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
