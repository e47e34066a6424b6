#!/usr/bin/env bash
# End-to-end tests of `earth +target`: the real binary and the real sandbox,
# on busybox:latest, one small project per case written here. Each case is a
# function test_NAME; ctest runs one case per test (tests/e2e/CMakeLists.txt).
#
# Usage: EARTH=build/earth tests/e2e/engine_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
# A step that ran is proved by a marker it appends to a cache mount, which
# outlives the step; a step that did not run leaves no marker (cache hits
# never start a sandbox). No case checks timing.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# A RUN flag that appends its step's name to the build's run log: the log is
# in a cache mount (id=e2e-runs) shared by every target, read back by runs().
MARK='--mount=type=cache,id=e2e-runs,target=/runs,sharing=shared'

# runs: the run log's lines, sorted, on one line ("a1 a2 b1").
runs() {
  local f
  f=$(grep -lx -m1 -r --include=log '.*' "$EARTH_CACHE_DIR/mounts" 2>/dev/null | head -1 || true)
  [[ -n $f ]] || { echo ""; return; }
  sort "$f" | tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------------- FROM
test_from() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ENV FROM_BASE=base-env
WORKDIR /base-dir

image:
  FROM busybox:latest
  RUN test -x /bin/busybox && echo image-ok >/image.txt
  SAVE ARTIFACT /image.txt AS LOCAL out/image.txt

implicit:
  RUN echo "$FROM_BASE $(pwd)" >/implicit.txt
  SAVE ARTIFACT /implicit.txt AS LOCAL out/implicit.txt

parent:
  FROM busybox
  ARG GREETING=default
  ENV PARENT_ENV=parent-env
  RUN echo "$GREETING" >/greeting.txt
  WORKDIR /parent-dir
  USER nobody
  ENTRYPOINT ["/bin/echo", "parent-entrypoint"]

child:
  FROM +parent --GREETING=hello
  RUN echo "$PARENT_ENV $(pwd) $(id -u) $(cat /greeting.txt)" >/tmp/child.txt
  RUN --entrypoint from-child >/tmp/entrypoint.txt
  SAVE ARTIFACT /tmp/child.txt AS LOCAL out/child.txt
  SAVE ARTIFACT /tmp/entrypoint.txt AS LOCAL out/entrypoint.txt

scratch:
  FROM scratch
  COPY +image/image.txt /copied.txt
  SAVE ARTIFACT /* AS LOCAL out/scratch/

all:
  BUILD +image
  BUILD +implicit
  BUILD +child
  BUILD +scratch
EOF
  earth_ok +all
  file_is out/image.txt image-ok
  file_is out/implicit.txt "base-env /base-dir"
  file_is out/child.txt "parent-env /parent-dir 65534 hello"
  file_is out/entrypoint.txt "parent-entrypoint from-child"
  eq "$(ls -A out/scratch)" copied.txt "a scratch target's filesystem"
  file_is out/scratch/copied.txt image-ok
}

# ---------------------------------------------------------------- RUN
test_run() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox

forms:
  RUN echo shell-form \$((1 + 2))
  RUN ["/bin/echo", "exec-form", "\$HOME", "a  b"]

network:
  RUN --network=none tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' >/none.txt
  RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort >/default.txt
  SAVE ARTIFACT /none.txt AS LOCAL out/none.txt
  SAVE ARTIFACT /default.txt AS LOCAL out/default.txt

mounts:
  RUN $MARK --mount=type=cache,target=/cache echo build >>/cache/builds && cp /cache/builds /builds.txt
  RUN --mount=type=tmpfs,target=/scratch echo x >/scratch/f && test -f /scratch/f
  RUN test ! -e /scratch/f && test ! -e /cache/builds
  RUN $MARK echo mounts-last >>/runs/log
  SAVE ARTIFACT /builds.txt AS LOCAL out/builds.txt

no-cache:
  RUN $MARK echo nc1 >>/runs/log
  RUN $MARK --no-cache echo nc2 >>/runs/log
  RUN $MARK echo nc3 >>/runs/log
EOF
  earth_ok +forms
  # shellcheck disable=SC2016 # the exec form passes $HOME on unexpanded
  log_has "shell-form 3" 'exec-form $HOME a  b'

  earth_ok +network
  file_is out/none.txt lo
  eq "$(cat out/default.txt)" "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)" \
    "interfaces seen by a RUN with the default network (the host's)"

  # A cache mount persists across builds; --no-cache reruns the step that
  # cached, so the second build appends a second line.
  earth_ok +mounts
  file_is out/builds.txt build
  earth_ok --no-cache +mounts
  file_is out/builds.txt "build
build"
  eq "$(runs)" "mounts-last mounts-last" "run log after two +mounts builds"

  # RUN --no-cache reruns itself and every later step of its target.
  rm -rf "$EARTH_CACHE_DIR"/mounts/*
  earth_ok +no-cache
  eq "$(runs)" "nc1 nc2 nc3" "run log after the first build"
  earth_ok +no-cache
  eq "$(runs)" "nc1 nc2 nc2 nc3 nc3" "run log after the second build"
}

# A step no build can reuse (--no-cache, RUN --no-cache: a unique key) is
# not kept: no step dir in steps/, no timing, nothing left in tmp/; what is
# made of it (an artifact, an image) is written before it goes.
test_no_cache_keeps_nothing() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
img:
  RUN echo base >/base.txt
  RUN --no-cache echo img >/img.txt
  SAVE ARTIFACT /img.txt AS LOCAL out/img.txt
  SAVE IMAGE e2e-unkept:latest
use:
  FROM e2e-unkept:latest
  RUN cat /base.txt /img.txt >/u.txt
  SAVE ARTIFACT /u.txt AS LOCAL out/u.txt
down:
  FROM +img
  RUN cat /img.txt >/down.txt
  SAVE ARTIFACT /down.txt AS LOCAL out/down.txt
copied:
  COPY +img/img.txt /c.txt
  RUN cat /c.txt >/copied.txt
  SAVE ARTIFACT /copied.txt AS LOCAL out/copied.txt
EOF2
  step_dirs() { find "$EARTH_CACHE_DIR/steps" -mindepth 1 -maxdepth 1 -type d | wc -l; }
  timings() { find "$EARTH_CACHE_DIR/timings" -type f | wc -l; }
  unkept() { find "$EARTH_CACHE_DIR/tmp" -path '*/unkept/*' | wc -l; }
  earth_ok +img
  file_is out/img.txt img
  local dirs times
  dirs=$(step_dirs)
  times=$(timings)
  earth_ok +img # the RUN --no-cache and what follows it run again
  steps_run 2
  eq "$(step_dirs)" "$dirs" "step dirs after a second build"
  eq "$(timings)" "$times" "step timings after a second build"
  earth_ok --no-cache +img
  steps_run 3
  eq "$(step_dirs)" "$dirs" "step dirs after --no-cache"
  eq "$(timings)" "$times" "step timings after --no-cache"
  eq "$(unkept)" 0 "unkept steps left in tmp/"
  earth_ok +use # the image saved from them is whole
  file_is out/u.txt "base
img"
  # What stands on them (FROM +img) has keys chained on unique ones: not
  # kept either.
  earth_ok +down
  file_is out/down.txt img
  dirs=$(step_dirs)
  earth_ok +down
  steps_run 4 # +img's RUN --no-cache and SAVE ARTIFACT, +down's RUN and SAVE ARTIFACT
  file_is out/down.txt img
  eq "$(step_dirs)" "$dirs" "step dirs after a second +down"
  eq "$(unkept)" 0 "unkept steps left in tmp/"
  # Nor what is copied out of them (COPY +img/…), nor what follows it.
  earth_ok +copied
  file_is out/copied.txt img
  dirs=$(step_dirs)
  earth_ok +copied
  steps_run 5 # +img's two, +copied's COPY, RUN and SAVE ARTIFACT
  file_is out/copied.txt img
  eq "$(step_dirs)" "$dirs" "step dirs after a second +copied"
  eq "$(unkept)" 0 "unkept steps left in tmp/"
}

test_run_privileged() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
priv:
  RUN --privileged mkdir -p /m && mount -t tmpfs none /m && echo privileged-mount-ok
unpriv:
  RUN mkdir -p /m && mount -t tmpfs none /m
EOF
  earth_fails +priv
  log_has "Earthfile:4:3" "RUN --privileged needs -P (--allow-privileged)"
  earth_ok -P +priv
  log_has "privileged-mount-ok"
  # Without --privileged the capability to mount is gone.
  earth_fails -P +unpriv
  log_has "Earthfile:6:3" "exited with status"
}

# ---------------------------------------------------------------- COPY
test_copy_context() {
  setup
  mkdir -p src/sub secret
  echo A >src/a.txt
  echo B >src/sub/b.txt
  echo C >src/c.log
  echo T >top.txt
  echo I >ignored.tmp
  echo S >secret/key
  printf '%s\n' '# comment' '*.tmp' secret >.earthlyignore
  touch -d @1234567890 top.txt
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
copy:
  WORKDIR /w
  COPY top.txt ./
  COPY src contents
  COPY --dir src withdir/
  COPY src/*.txt src/*/*.txt globbed/
  COPY --if-exists missing.txt top.txt if-exists/
  COPY --if-exists missing.txt nothing/
  COPY --keep-ts top.txt kept-ts.txt
  COPY --chmod=0600 top.txt chmod.txt
  COPY --chown=nobody:nobody top.txt chown.txt
  COPY . all/
  RUN find . | sort >/list.txt
  RUN stat -c '%n %a %u:%g %Y' top.txt kept-ts.txt chmod.txt chown.txt >/stat.txt
  SAVE ARTIFACT /list.txt AS LOCAL out/list.txt
  SAVE ARTIFACT /stat.txt AS LOCAL out/stat.txt
EOF
  earth_ok +copy
  file_is out/list.txt ".
./all
./all/.earthlyignore
./all/Earthfile
./all/src
./all/src/a.txt
./all/src/c.log
./all/src/sub
./all/src/sub/b.txt
./all/top.txt
./chmod.txt
./chown.txt
./contents
./contents/a.txt
./contents/c.log
./contents/sub
./contents/sub/b.txt
./globbed
./globbed/a.txt
./globbed/b.txt
./if-exists
./if-exists/top.txt
./kept-ts.txt
./nothing
./top.txt
./withdir
./withdir/src
./withdir/src/a.txt
./withdir/src/c.log
./withdir/src/sub
./withdir/src/sub/b.txt"
  # Copied files get Earthly's constant mtime, 2020-04-16T12:00:00Z, unless --keep-ts.
  file_is out/stat.txt "top.txt 644 0:0 1587038400
kept-ts.txt 644 0:0 1234567890
chmod.txt 600 0:0 1587038400
chown.txt 644 65534:65534 1587038400"

  # An ignored file named outright is not there.
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ignored:
  COPY ignored.tmp /
EOF
  earth_fails +ignored
  log_has "Earthfile:4:3" "COPY ignored.tmp: no such file or directory (or excluded by .earthlyignore)"
}

test_copy_artifact() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
lib:
  ARG V=one
  RUN mkdir -p /o/d && echo "$V" >/o/v.txt && echo x >/o/d/x.txt && echo w >/o/w.txt && echo y >/o/y.bin
  SAVE ARTIFACT /o/v.txt
  SAVE ARTIFACT /o/w.txt
  SAVE ARTIFACT /o/d
  SAVE ARTIFACT /o/y.bin bin/

use:
  COPY +lib/v.txt /got/v1.txt
  COPY (+lib/v.txt --V=two) /got/v2.txt
  COPY +lib/v.txt +lib/bin/y.bin /got/many/
  COPY +lib/*.txt /got/glob/
  COPY +lib/d /got/contents
  COPY --dir +lib/d /got/withdir/
  RUN cd /got && find . | sort >/list.txt && cat v1.txt v2.txt >/values.txt
  SAVE ARTIFACT /list.txt AS LOCAL out/list.txt
  SAVE ARTIFACT /values.txt AS LOCAL out/values.txt
EOF
  earth_ok +use
  file_is out/values.txt "one
two"
  file_is out/list.txt ".
./contents
./contents/x.txt
./glob
./glob/v.txt
./glob/w.txt
./many
./many/v.txt
./many/y.bin
./v1.txt
./v2.txt
./withdir
./withdir/d
./withdir/d/x.txt"
  # +lib ran once per distinct --V (the default and two), and reached
  # through COPY it writes no output.
  log_has "+lib --V=two"
}

# ---------------------------------------------------------------- SAVE ARTIFACT
test_save_artifact() {
  setup
  mkdir -p out/dir out/into
  echo stale >out/dir/stale.txt
  echo kept >out/into/kept.txt
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
save:
  RUN mkdir -p /o/dir/sub && echo 1 >/o/dir/sub/one && echo 2 >/o/two.txt && echo 3 >/o/three.txt
  RUN touch -d @1234567890 /o/two.txt
  SAVE ARTIFACT /o/dir AS LOCAL out/dir
  SAVE ARTIFACT /o/two.txt AS LOCAL out/into/
  SAVE ARTIFACT /o/two.txt AS LOCAL out/renamed.txt
  SAVE ARTIFACT /o/*.txt AS LOCAL out/globbed
  SAVE ARTIFACT --keep-ts /o/two.txt kept-ts.txt AS LOCAL out/kept-ts.txt
  SAVE ARTIFACT /o/two.txt not-kept.txt AS LOCAL out/not-kept.txt
  SAVE ARTIFACT --if-exists /o/missing AS LOCAL out/missing
  SAVE ARTIFACT --force /o/two.txt AS LOCAL ../forced.txt

outside:
  RUN echo x >/x
  SAVE ARTIFACT /x AS LOCAL ../outside.txt

missing:
  RUN true
  SAVE ARTIFACT /o/missing AS LOCAL out/missing
EOF
  earth_ok +save
  # A directory artifact replaces the host directory.
  eq "$(cd out/dir && find . | sort | tr '\n' ' ')" ". ./sub ./sub/one " "out/dir after SAVE ARTIFACT of a directory"
  # A file into a destination ending in / goes into that directory.
  file_is out/into/two.txt 2
  file_is out/into/kept.txt kept
  file_is out/renamed.txt 2
  # A glob's matches go into the destination as a directory.
  eq "$(cd out/globbed && echo *)" "three.txt two.txt" "out/globbed"
  eq "$(stat -c %Y out/kept-ts.txt)" 1234567890 "mtime with --keep-ts"
  eq "$(stat -c %Y out/not-kept.txt)" 1587038400 "mtime without --keep-ts"
  no_file out/missing
  file_is "$T/forced.txt" 2

  earth_fails +outside
  log_has "Earthfile:17:3" "writes outside the Earthfile's directory; add --force"
  no_file "$T/outside.txt"
  earth_fails +missing
  log_has "Earthfile:21:3" "SAVE ARTIFACT /o/missing: no such file or directory"
}

# ---------------------------------------------------------------- SAVE IMAGE
test_save_image() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
img:
  ENV A=1
  ENV B="two words"
  WORKDIR /app
  RUN echo in-image >/app/file.txt
  USER nobody
  ENTRYPOINT ["/bin/sh", "-c"]
  CMD ["cat /app/file.txt; echo $B"]
  EXPOSE 80 443/udp
  LABEL org.example.k=v other="x y"
  VOLUME /data /cache
  HEALTHCHECK --interval=10s --retries=2 CMD wget -q localhost
  SAVE IMAGE e2e/img:latest e2e/img:v1 localhost:5000/e2e/img2
EOF
  earth_ok +img
  local names
  names=$("$earth" image ls | awk 'NR > 1 { print $1 }')
  for n in e2e/img:latest e2e/img:v1 localhost:5000/e2e/img2; do
    grep -qE "(^|/)$n(:latest)?\$" <<<"$names" || fail "image $n not in earth image ls: $names"
  done
  eq "$("$earth" debug run e2e/img:v1)" "in-image
two words" "running the saved image (entrypoint + cmd, env, workdir)"

  "$earth" image export e2e/img:v1 -o "$T/img.tar" || fail "earth image export"
  command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh --test)"
  skopeo inspect --config --raw "oci-archive:$T/img.tar" >"$T/config.json" || fail "skopeo inspect --config"
  python3 - "$T/config.json" <<'EOF' || fail "the image config (above) is not what the Earthfile says"
import json, sys
c = json.load(open(sys.argv[1]))["config"]
want = {
    "WorkingDir": "/app",
    "User": "nobody",
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["cat /app/file.txt; echo $B"],
    "ExposedPorts": {"80/tcp": {}, "443/udp": {}},
    "Volumes": {"/data": {}, "/cache": {}},
}
bad = [f"{k}: {c.get(k)!r} != {v!r}" for k, v in want.items() if c.get(k) != v]
env = c.get("Env", [])
for e in ("A=1", "B=two words"):
    if e not in env: bad.append(f"Env lacks {e}: {env}")
if not any(e.startswith("PATH=") for e in env): bad.append(f"Env lacks busybox's PATH: {env}")
labels = c.get("Labels", {})
for k, v in {"org.example.k": "v", "other": "x y"}.items():
    if labels.get(k) != v: bad.append(f"Label {k}: {labels.get(k)!r}")
if "dev.earthly.built-by" not in labels: bad.append(f"no Earthly labels: {labels}")
hc = c.get("Healthcheck", {})
if hc.get("Test") != ["CMD-SHELL", "wget -q localhost"] or hc.get("Interval") != 10**10 or hc.get("Retries") != 2:
    bad.append(f"Healthcheck: {hc}")
if bad:
    print(json.dumps(c, indent=1), file=sys.stderr)
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}

# ---------------------------------------------------------------- ENV, ARG, USER, HOST…
test_config() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
cfg:
  ARG NAME=static
  ARG DERIVED=$NAME-derived
  ENV E1=env1
  WORKDIR /wd
  WORKDIR sub
  USER nobody
  HOST myhost.example 10.1.2.3
  RUN echo "cfg: $NAME $DERIVED $E1 $(pwd) $(id -u) $(grep myhost /etc/hosts | tr -s ' \t' ' ')"
EOF
  earth_ok +cfg
  log_has "cfg: static static-derived env1 /wd/sub 65534 10.1.2.3 myhost.example"
  earth_ok +cfg --NAME=cli
  log_has "cfg: cli cli-derived env1 /wd/sub 65534 10.1.2.3 myhost.example"
}

test_cache_command() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
c1:
  CACHE --id=e2e-shared /shared
  RUN echo c1 >>/shared/log
  RUN cat /shared/log
c2:
  CACHE --id=e2e-shared --sharing=shared /shared
  RUN echo c2 >>/shared/log
c3:
  CACHE --sharing=private /own
  RUN echo c3 >>/own/log
  SAVE ARTIFACT --if-exists /own/log AS LOCAL out/leak
all:
  BUILD +c1
  BUILD +c2
  BUILD +c3
bad:
  CACHE --sharing=sometimes /x
EOF
  earth_ok +all
  local shared own
  shared=$(grep -rlx c1 --include=log "$EARTH_CACHE_DIR/mounts" || true)
  [[ -n $shared ]] || fail "no CACHE --id mount holds c1"
  eq "$(sort "$shared" | tr '\n' ' ')" "c1 c2 " "the CACHE --id=e2e-shared log of +c1 and +c2"
  own=$(grep -rlx c3 --include=log "$EARTH_CACHE_DIR/mounts" || true)
  [[ -n $own && $own != "$shared" ]] || fail "+c3's CACHE is not its own: $own"
  # 0.8: a CACHE's contents are not in the image.
  no_file out/leak
  earth_fails +bad
  log_has "Earthfile:19:3" "CACHE --sharing must be locked, shared or private"
}

# ---------------------------------------------------------------- the step cache
test_rerun() {
  setup
  echo a >a.txt
  echo b >b.txt
  earthfile <<EOF
VERSION 0.8
FROM busybox
a:
  COPY a.txt /
  RUN $MARK echo a1 >>/runs/log
  RUN $MARK echo a2 >>/runs/log
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt
b:
  COPY b.txt /
  RUN $MARK echo b1 >>/runs/log
c:
  FROM +a
  RUN $MARK echo c1 >>/runs/log
all:
  BUILD +a
  BUILD +b
  BUILD +c
EOF
  earth_ok +all
  eq "$(runs)" "a1 a2 b1 c1" "run log after the first build"
  steps_run 7

  # Nothing changed: no step runs (the log stays as it is), each is *cached*
  # (the full path's no-op: a request journal shows only the targets').
  rm -rf "$EARTH_CACHE_DIR/journals"
  earth_ok +all
  eq "$(runs)" "a1 a2 b1 c1" "run log after a rerun with nothing changed"
  summary_is 0 7
  log_lacks "| --> RUN" "| --> COPY"
  log_has "*cached* --> RUN $MARK echo a1"

  # A new mtime alone changes nothing.
  touch -d '2001-01-01' a.txt b.txt
  earth_ok +all
  eq "$(runs)" "a1 a2 b1 c1" "run log after touching the inputs"

  # One copied file changed: exactly its dependents rerun (+a's and +c's
  # RUNs), not the sibling +b.
  echo a-changed >a.txt
  earth_ok +all
  eq "$(runs)" "a1 a1 a2 a2 b1 c1 c1" "run log after changing a.txt"
  file_is out/a.txt a-changed
  steps_run 5

  # --no-cache reruns everything.
  earth_ok --no-cache +all
  eq "$(runs)" "a1 a1 a1 a2 a2 a2 b1 b1 c1 c1 c1" "run log after --no-cache"
  summary_is 7 0

  # ...and the cache it wrote is used by the next process.
  earth_ok +all
  summary_is 0 7
}

# ---------------------------------------------------------------- outputs
test_outputs() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
dep:
  RUN echo dep >/dep.txt
  SAVE ARTIFACT /dep.txt AS LOCAL out/dep.txt
  SAVE IMAGE e2e/dep

copied:
  RUN echo copied >/copied.txt
  SAVE ARTIFACT /copied.txt AS LOCAL out/copied.txt
  SAVE IMAGE e2e/copied

built:
  FROM +dep
  SAVE ARTIFACT /dep.txt AS LOCAL out/built.txt
  SAVE IMAGE e2e/built
  BUILD +built2

built2:
  RUN echo built2 >/built2.txt
  SAVE ARTIFACT /built2.txt AS LOCAL out/built2.txt

main:
  FROM +dep
  COPY +copied/copied.txt /
  SAVE ARTIFACT /copied.txt AS LOCAL out/main.txt
  SAVE IMAGE e2e/main
  BUILD +built

fails:
  RUN sleep 1; exit 3

broken:
  BUILD +main
  BUILD +fails
EOF
  images() { "$earth" image ls | awk 'NR > 1 { print $1 }' | grep -o 'e2e/[a-z0-9]*' | sort | tr '\n' ' '; }

  # A failure anywhere: nothing is output, not even what +main saved.
  earth_fails +broken
  no_file out
  eq "$(images)" "" "images after a failed build"

  earth_ok --no-output +main
  no_file out
  eq "$(images)" "" "images after --no-output"
  earth_ok --ci +main
  no_file out
  eq "$(images)" "" "images after --ci"

  # --artifact: only that artifact, to the given dest or ./
  earth_ok --artifact +main/copied.txt got/
  file_is got/copied.txt copied
  earth_ok --artifact +main/copied.txt
  file_is copied.txt copied
  # --ci is only --strict for --artifact and --image.
  earth_ok --ci --artifact +main/copied.txt ci/
  file_is ci/copied.txt copied
  no_file out
  eq "$(images)" "" "images after --artifact"

  # --image: only the target's image.
  earth_ok --image +main
  no_file out
  eq "$(images)" "e2e/main " "images after --image +main"

  # The CLI target and its BUILD chain output; FROM and COPY do not.
  earth_ok +main
  file_is out/main.txt copied
  file_is out/built.txt dep
  file_is out/built2.txt built2
  no_file out/dep.txt
  no_file out/copied.txt
  eq "$(images)" "e2e/built e2e/main " "images after +main"
}

# ---------------------------------------------------------------- failures
test_failure_message() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
bad:
  RUN echo first-line; echo last-line; exit 3
EOF
  earth_fails +bad
  log_has "+bad" "Earthfile:4:3" "RUN echo first-line; echo last-line; exit 3" \
    "exited with status 3" "last-line"
  # The artifact it would have saved is not there and the failure is counted.
  log_has "Build failed"
}

test_failure_stops_build() {
  setup
  local mark=e2e-$$-$RANDOM
  earthfile <<EOF
VERSION 0.8
FROM busybox
slow:
  RUN $MARK E2E_MARK=$mark sh -c 'echo slow-start >>/runs/log; sleep 30; echo slow-end >>/runs/log'
quick:
  RUN $MARK sh -c 'until grep -q slow-start /runs/log; do sleep 0.1; done; exit 4'
both:
  BUILD +slow
  BUILD +quick
EOF
  local t0=$SECONDS
  earth_fails -j 2 +both
  ((SECONDS - t0 < 20)) || fail "the failing build took $((SECONDS - t0)) s: +slow was not stopped"
  log_has "+quick" "exited with status 4"
  eq "$(runs)" "slow-start" "run log (+slow must not finish)"
  ! grep -qs "E2E_MARK=$mark" /proc/[0-9]*/environ || fail "a sandbox process of +slow is still running"
}

test_unsupported() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
docker:
  RUN touch /ran
  WITH DOCKER
    RUN true
  END
git:
  GIT CLONE https://example.com/x.git x
dockerfile:
  FROM DOCKERFILE .
EOF
  earth_fails +docker
  log_has "Earthfile:5:" "WITH DOCKER is not supported yet"
  log_lacks "RUN touch /ran" # refused before anything runs
  earth_fails +git
  log_has "Earthfile:9:3" "GIT CLONE is not supported yet"
  earth_fails +dockerfile
  log_has "Earthfile:11:3" "FROM DOCKERFILE is not supported yet"
}

# ---------------------------------------------------------------- parallelism
# Each step marks that it started, then waits (up to WAIT s) for the other
# step's mark: with -j2 both see each other, however loaded the machine;
# with -j1 the first one is alone (the second starts after it ended). No
# wall-clock threshold.
test_parallel() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
p:
  ARG N
  ARG ROUND
  ARG WAIT
  RUN $MARK sh -c 'echo "\$ROUND start" >>/runs/log; touch /runs/\$ROUND.\$N; \\
    o=/runs/\$ROUND.\$((3 - N)); i=0; \\
    while [ ! -e \$o ] && [ \$i -lt \$((WAIT * 10)) ]; do sleep 0.1; i=\$((i + 1)); done; \\
    if [ -e \$o ]; then echo "\$ROUND saw" >>/runs/log; else echo "\$ROUND alone" >>/runs/log; fi; \\
    echo "\$ROUND end" >>/runs/log'
all:
  ARG ROUND
  ARG WAIT
  BUILD +p --N=1 --ROUND=\$ROUND --WAIT=\$WAIT
  BUILD +p --N=2 --ROUND=\$ROUND --WAIT=\$WAIT
EOF
  earth_ok -j 2 +all --ROUND=j2 --WAIT=60
  earth_ok -j 1 +all --ROUND=j1 --WAIT=1
  local f
  f=$(grep -rl --include=log start "$EARTH_CACHE_DIR/mounts")
  # -j2: both start before either goes on, and each sees the other;
  # -j1: one after the other, the first alone.
  eq "$(grep j2 "$f" | cut -d' ' -f2 | head -2 | tr '\n' ' ')" "start start " "-j2 run log"
  eq "$(grep j2 "$f" | cut -d' ' -f2 | sort | tr '\n' ' ')" "end end saw saw start start " \
    "-j2 run log"
  eq "$(grep j1 "$f" | cut -d' ' -f2 | tr '\n' ' ')" "start alone end start saw end " "-j1 run log"
}

# ---------------------------------------------------------------- Ctrl-C
test_interrupt() {
  setup
  local mark=e2e-$$-$RANDOM
  earthfile <<EOF
VERSION 0.8
FROM busybox
long:
  ARG SLEEP=60
  RUN $MARK E2E_MARK=$mark sh -c 'echo started >>/runs/log; sleep \$SLEEP'
  RUN echo done >/done.txt
  SAVE ARTIFACT /done.txt AS LOCAL out/done.txt
EOF
  "$earth" +long >"$T/log" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    [[ $(runs) == started ]] && break
    sleep 0.1
  done
  eq "$(runs)" started "run log before Ctrl-C"
  kill -INT "$pid"
  status=0
  wait "$pid" || status=$?
  eq "$status" 130 "exit status after SIGINT"
  ! grep -qF " $EARTH_CACHE_DIR/" /proc/self/mountinfo || fail "a mount under the cache is left: $(grep -F "$EARTH_CACHE_DIR" /proc/self/mountinfo)"
  ! grep -qs "E2E_MARK=$mark" /proc/[0-9]*/environ || fail "the sandbox of +long is still running"
  eq "$(ls -A "$EARTH_CACHE_DIR/tmp")" "" "what is left under \$EARTH_CACHE_DIR/tmp"
  no_file out
  # The next build works (and reuses nothing half-made).
  earth_ok +long --SLEEP=0
  file_is out/done.txt "done"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: engine_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "engine_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
