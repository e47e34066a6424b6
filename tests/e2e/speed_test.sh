#!/usr/bin/env bash
# End-to-end tests of the unchanged path (issue 9): the stat cache, target
# skipping, --explain and `earth debug keys`, on busybox.
#
# Usage: EARTH=build/earth tests/e2e/speed_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- stat cache
test_stat_cache() {
  setup
  mkdir -p src/sub
  echo one >src/a.txt
  echo two >src/sub/b.txt
  echo out.txt >.earthlyignore
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY src /src
  RUN cat /src/a.txt /src/sub/b.txt >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF2
  age src/a.txt src/sub/b.txt Earthfile .earthlyignore
  # The target's key reads the build context (Earthfile, .earthlyignore and
  # the two sources), then the COPY finds its two files in the stat cache.
  earth_ok --profile +t
  eq "$(hashed)" "4 hashed, 2 from the stat cache" "first build"
  [[ -s $EARTH_CACHE_DIR/stat-cache ]] || fail "no stat-cache index"
  earth_ok --profile +t
  eq "$(hashed)" "0 hashed, 4 from the stat cache" "second build"
  steps_run 0
  # An edit with the same size and a restored mtime still changes the
  # ctime: read again (once: changed more than the racy window ago, so its
  # new digest is recorded and the COPY finds it), and the COPY runs.
  echo ONE >src/a.txt
  touch -r src/sub/b.txt src/a.txt
  sleep 0.1
  earth_ok --profile +t
  eq "$(hashed)" "1 hashed, 5 from the stat cache" "after an edit"
  file_is out.txt "ONE
two"
  # A damaged index is ignored: everything is read again.
  printf 'garbage' >"$EARTH_CACHE_DIR/stat-cache"
  earth_ok --profile +t
  eq "$(hashed)" "4 hashed, 0 from the stat cache" "after a damaged index"
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
  echo out.txt >.earthlyignore
  age Earthfile .earthlyignore
  echo one >a.txt
  touch -d '+1 hour' a.txt # in the future: racy on every build
  earth_ok --profile +t
  earth_ok --profile +t
  # Read again for the target's key (the content is the same: the target is
  # reused), never recorded.
  eq "$(hashed)" "1 hashed, 2 from the stat cache" "a racy file"
  echo ONE >a.txt
  touch -d '+1 hour' a.txt
  earth_ok +t
  file_is out.txt ONE
}

# reused: how many targets --profile says were reused whole.
reused() {
  grep -oE 'targets: [0-9]+ reused whole' "$T/log" | grep -oE '[0-9]+'
}

# ---------------------------------------------------------------- target reuse
test_target_reuse() {
  setup
  mkdir -p lib
  echo one >a.txt
  echo libsrc >lib/src.txt
  cat >lib/Earthfile <<'EOF2'
VERSION 0.8
FROM busybox
build:
  COPY src.txt /src.txt
  RUN cat /src.txt > /lib.txt
  SAVE ARTIFACT /lib.txt
EOF2
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  ARG V=v1
  COPY a.txt /a.txt
  COPY ./lib+build/lib.txt /lib.txt
  RUN echo "$V $(cat /a.txt) $(cat /lib.txt)" >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF2
  age a.txt lib/src.txt
  earth_ok --profile +t
  file_is out.txt "v1 one libsrc"
  # The output out.txt is in +t's build context: the second build sees it
  # appear, the third reuses every target (on the full path: the second
  # may have written a request journal, which would answer the third).
  earth_ok --profile +t
  rm -rf "$EARTH_CACHE_DIR/journals"
  earth_ok --profile +t
  eq "$(reused)" 4 "targets reused on a no-op (+base, ./lib+base, ./lib+build, +t)"
  summary_is 0 7
  log_has "*cached*"
  # A deleted output is written again even when its target is reused.
  rm out.txt
  earth_ok --profile +t
  eq "$(reused)" 4 "targets reused after deleting an output"
  file_is out.txt "v1 one libsrc"
  # A changed ARG: +t runs step by step (its steps are new), the rest is reused.
  earth_ok --profile +t --V=v2
  eq "$(reused)" 3 "targets reused with another ARG value"
  file_is out.txt "v2 one libsrc"
  # A dependency's source changed: ./lib+build and +t run again.
  echo LIBSRC >lib/src.txt
  earth_ok --profile +t --V=v2
  eq "$(reused)" 2 "targets reused after a dependency's source changed"
  file_is out.txt "v2 one LIBSRC"
  # The Earthfile changed: its targets run step by step.
  sed -i 's/echo "\$V/echo "x \$V/' Earthfile
  earth_ok --profile +t --V=v2
  file_is out.txt "x v2 one LIBSRC"
  # A record whose step dirs lost their markers (a power cut before a sync)
  # is not used, and those dirs are made again.
  find "$EARTH_CACHE_DIR/steps" -name '*.ok' -delete
  rm out.txt
  earth_ok --profile +t --V=v2
  eq "$(reused)" 2 "targets reused after the step dirs lost their markers"
  file_is out.txt "x v2 one LIBSRC"
  [[ -n $(find "$EARTH_CACHE_DIR/steps" -name '*.ok') ]] || fail "no step recorded again"
  # Nor is one whose step dirs were removed by hand, their markers left.
  find "$EARTH_CACHE_DIR/steps" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  [[ -n $(find "$EARTH_CACHE_DIR/steps" -name '*.ok') ]] || fail "no marker left"
  rm out.txt
  earth_ok --profile +t --V=v2
  eq "$(reused)" 2 "targets reused after the step dirs were removed, markers left"
  file_is out.txt "x v2 one LIBSRC"
  # A record whose step dirs are gone is not used.
  rm -rf "$EARTH_CACHE_DIR/steps"
  rm out.txt
  earth_ok --profile +t --V=v2
  eq "$(reused)" 2 "targets reused after the step dirs were removed (the +base targets: FROM only)"
  file_is out.txt "x v2 one LIBSRC"
  # --no-cache reuses nothing.
  earth_ok --profile --no-cache +t --V=v2
  eq "$(reused)" 0 "targets reused with --no-cache"
}

# A moved checkout: the same Earthfile and sources elsewhere write their
# outputs to the new place.
test_target_reuse_moved() {
  setup
  echo one >a.txt
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY a.txt /a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out.txt
EOF2
  earth_ok +t
  earth_ok +t
  cd "$T"
  mv project moved
  cd moved
  rm out.txt
  earth_ok +t
  file_is out.txt one
  no_file "$T/project/out.txt"
}

# Targets that cannot be keyed whole (RUN --no-cache) run step by step,
# and so do the targets reading them.
test_target_reuse_not_keyable() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
dep:
  RUN --no-cache cat /proc/sys/kernel/random/uuid >/now.txt
  SAVE ARTIFACT /now.txt
t:
  COPY +dep/now.txt /now.txt
  SAVE ARTIFACT /now.txt AS LOCAL now.txt
EOF2
  earth_ok --profile +t
  earth_ok --profile +t
  first=$(cat now.txt)
  earth_ok --profile +t
  eq "$(reused)" 1 "targets reused (+base only)"
  [[ $(cat now.txt) != "$first" ]] || fail "+t was reused although +dep ran again"
}

# A secret mount in any spelling (`--mount type=secret,…`, the space form,
# quoted, as well as `--mount=type=secret,…`) keeps its target from being
# reused whole: the step is walked, so the secret is needed on every build.
# A quoted cache or tmpfs mount does not.
test_target_reuse_secret_mount() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
spaced:
  RUN --mount type=secret,id=tok,target=/s test -s /s && echo used >/used.txt
  SAVE ARTIFACT /used.txt AS LOCAL spaced.txt
joined:
  RUN --mount=type=secret,id=tok,target=/s test -s /s && echo used >/used.txt
  SAVE ARTIFACT /used.txt AS LOCAL joined.txt
quoted:
  RUN --mount "type=secret,id=tok,target=/s" test -s /s && echo used >/used.txt
  SAVE ARTIFACT /used.txt AS LOCAL quoted.txt
plain:
  RUN --mount type=tmpfs,target=/tmp echo --secret --mount=type=secret >/used.txt
  SAVE ARTIFACT /used.txt AS LOCAL plain.txt
cached:
  RUN --mount "type=cache,target=/c" --mount='type=tmpfs,target=/t' echo hi >/used.txt
  SAVE ARTIFACT /used.txt AS LOCAL cached.txt
EOF2
  local t
  for t in spaced joined quoted plain cached; do
    earth_ok --secret tok=value --profile +$t
    earth_ok --secret tok=value --profile +$t
    # The full path, not the request journal a no-op build may have written.
    rm -rf "$EARTH_CACHE_DIR/journals"
    earth_ok --secret tok=value --profile +$t
    if [[ $t == plain || $t == cached ]]; then
      eq "$(reused)" 2 "targets reused (+base, +$t: no secret mounted; quotes are the shell's)"
    else
      eq "$(reused)" 1 "targets reused (+base only: +$t mounts a secret)"
      earth_fails +$t # walked, so the missing secret is seen
      log_has "no secret 'tok'"
    fi
  done
}

# ---------------------------------------------------------------- --explain
test_explain() {
  setup
  mkdir -p src
  echo a >src/a.txt
  echo b >src/b.txt
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  ARG V=1
  COPY src /src
  RUN echo $V >/v.txt
  RUN cat /src/a.txt >/o.txt
  SAVE ARTIFACT /o.txt AS LOCAL o.txt
EOF2
  earth_ok --explain +t
  log_has "explain +t: COPY src /src (./Earthfile:5:3): no cache entry (no earlier run of this target recorded)"
  earth_ok --explain +t --V=2
  log_has "explain +t: COPY src /src (./Earthfile:5:3): reused (cache hit)" \
    "explain +t: RUN echo \$V >/v.txt (./Earthfile:6:3): variable V changed: '1' -> '2'" \
    "explain +t: SAVE ARTIFACT /o.txt AS LOCAL o.txt (./Earthfile:8:3): the step before it changed (RUN cat /src/a.txt >/o.txt)"
  echo B >src/b.txt
  earth_ok --explain +t --V=2
  log_has "explain +t: COPY src /src (./Earthfile:5:3): file src/b.txt changed" \
    "explain +t: RUN echo \$V >/v.txt (./Earthfile:6:3): the step before it changed (COPY src /src)"
  earth_ok --explain +t --V=2
  log_has "explain +t: reused whole (its input key is unchanged)"
  rm -rf "$EARTH_CACHE_DIR/steps" "$EARTH_CACHE_DIR/targets"
  earth_ok --explain +t --V=2
  log_has "explain +t: RUN cat /src/a.txt >/o.txt (./Earthfile:7:3): no cache entry (the stored result is gone)"
  earth_ok --explain --no-cache +t --V=2
  log_has "explain +t: RUN cat /src/a.txt >/o.txt (./Earthfile:7:3): --no-cache"
}

# earth debug keys: every key's typed fields, the same on two runs.
test_debug_keys() {
  setup
  echo a >a.txt
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY a.txt /a.txt
  RUN cat /a.txt
EOF2
  "$earth" debug keys +t >"$T/keys1" 2>"$T/log" || fail "earth debug keys failed"
  "$earth" debug keys +t >"$T/keys2" 2>"$T/log" || fail "earth debug keys failed"
  cmp -s "$T/keys1" "$T/keys2" || fail "debug keys differ between two runs: $(diff "$T/keys1" "$T/keys2")"
  grep -q "^  RUN sha256:" "$T/keys1" || fail "no RUN key in: $(cat "$T/keys1")"
  grep -q "^    argv = /bin/sh" "$T/keys1" || fail "no argv field"
  grep -q "^    (file a.txt sha256:" "$T/keys1" || fail "no per-file note"
  echo b >a.txt
  "$earth" debug keys +t >"$T/keys3" 2>"$T/log" || fail "earth debug keys failed"
  { diff "$T/keys1" "$T/keys3" || true; } | grep -q "(file a.txt sha256:" || fail "the changed file is not in the diff"
}

# ---------------------------------------------------------------- start-up
# A build that talks to no registry does not load libcurl (and its ~25
# libraries): it is dlopen()ed on the first request.
test_startup_without_libcurl() {
  [[ -x $earth ]] || skip "no earth binary at $earth (set EARTH)"
  command -v ldd >/dev/null || skip "no ldd"
  ! ldd "$earth" | grep -q libcurl || fail "earth links libcurl: $(ldd "$earth" | grep libcurl)"
  out=$(LD_DEBUG=files "$earth" --version 2>&1)
  ! grep -q "file=libcurl" <<<"$out" || fail "earth --version loaded libcurl"
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
