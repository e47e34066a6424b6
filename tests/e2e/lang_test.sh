#!/usr/bin/env bash
# End-to-end tests of the control language as the engine runs it: IF/ELSE
# IF/ELSE, FOR, `$( … )` shell-outs, DO/FUNCTION, WAIT, TRY/FINALLY, builtin
# ARGs and the run-time scope (reference §1.2, §2.3–2.5). The real binary and
# sandbox on busybox, one small project per case; what a step saw is read
# back from its artifacts, and "nothing ran" from the build summary (a cache
# hit never starts a sandbox).
#
# Usage: EARTH=build/earth tests/e2e/lang_test.sh CASE...   (--list: the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- IF
test_if() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
branches:
  ARG WHICH=a
  RUN echo "$WHICH" >/which
  IF [ "$(cat /which)" = a ]
    RUN echo first >/r
  ELSE IF grep -q b /which
    RUN echo second >/r
  ELSE
    RUN echo third >/r
  END
  # a condition's changes to the filesystem are dropped
  IF touch /made-by-condition
    RUN test ! -e /made-by-condition && echo dropped >>/r
  END
  IF ["test", "-f", "/which"]
    RUN echo exec-form >>/r
  END
  SAVE ARTIFACT /r AS LOCAL out/r
cannot-start:
  IF no-such-command --flag
    RUN true
  END
false-is-not-an-error:
  IF false
    RUN echo never >/x
  END
  RUN echo after >/x
  SAVE ARTIFACT /x AS LOCAL out/x
EOF
  earth_ok +branches
  file_is out/r "first
dropped
exec-form"
  earth_ok +branches
  steps_run 0 # conditions are cached with their exit status
  earth_ok +branches --WHICH=b
  file_is out/r "second
dropped
exec-form"
  earth_ok +branches --WHICH=c
  file_is out/r "third
dropped
exec-form"
  earth_fails +cannot-start
  log_has "Earthfile:22:" "the condition could not run (exit status 127: command not found)"
  earth_ok +false-is-not-an-error
  file_is out/x after
}

# IF and FOR flags: --mount as RUN reads it, --privileged only with -P.
test_if_for_flags() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
mount:
  RUN --mount=type=cache,id=m,target=/c echo yes >/c/flag
  IF --mount=type=cache,id=m,target=/c test -f /c/flag
    RUN echo mounted >/m
  END
  FOR --mount=type=cache,id=m,target=/c f IN $(ls /c)
    RUN echo "$f" >>/m
  END
  SAVE ARTIFACT /m AS LOCAL out/m
privileged:
  IF --privileged grep -q CapEff:.*ffffff /proc/self/status
    RUN echo privileged >/p
  END
  SAVE ARTIFACT /p AS LOCAL out/p
EOF
  earth_ok +mount
  file_is out/m "mounted
flag"
  earth_fails +privileged
  log_has "Earthfile:13:" "IF --privileged needs -P"
  earth_ok -P +privileged
  file_is out/p privileged
}

# IF and FOR --secret: the secret reaches the condition and the list's
# shell-outs as RUN --secret does; its value is never stored.
test_if_for_secret() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
sec:
  IF --secret S=tok [ "$S" = "$(echo aHVudGVyMg== | base64 -d)" ]
    RUN echo matched >/m
  END
  FOR --secret S=tok x IN $(printf %s "$S" | wc -c)
    RUN echo "len $x" >>/m
  END
  SAVE ARTIFACT /m AS LOCAL out/m
EOF
  earth_ok --secret tok=hunter2 +sec
  file_is out/m "matched
len 7"
  ! grep -rq hunter2 "$EARTH_CACHE_DIR" || fail "the secret's value is in the cache dir"
  log_lacks hunter2
  earth_fails +sec
  log_has "tok"
}

# A BUILD in a branch not taken outputs nothing (§5.6: outputs follow the
# BUILDs that ran).
test_if_build() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
main:
  ARG PICK=a
  IF [ "$PICK" = a ]
    BUILD +a
  ELSE
    BUILD +b
  END
a:
  RUN echo a >/a
  SAVE ARTIFACT /a AS LOCAL out/a
b:
  RUN echo b >/b
  SAVE ARTIFACT /b AS LOCAL out/b
EOF
  earth_ok +main
  file_is out/a a
  no_file out/b
  rm -rf out
  earth_ok +main --PICK=b
  file_is out/b b
  no_file out/a
}

# ---------------------------------------------------------------- FOR
test_for() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
loop:
  FOR x IN a "b c"
    RUN echo "x=$x" >>/list
  END
  RUN echo d,e >/more
  FOR --sep , y IN $(cat /more)
    RUN echo "y=$y" >>/list
  END
  ARG N=2
  FOR z IN $(seq 1 $N)
    RUN echo "z=$z" >>/list
  END
  SAVE ARTIFACT /list AS LOCAL out/list
EOF
  earth_ok +loop
  file_is out/list "x=a
x=b
x=c
y=d
y=e
z=1
z=2"
  earth_ok +loop
  steps_run 0
  # one more item: the steps before it are reused, the new iteration runs
  earth_ok +loop --N=3
  file_is out/list "x=a
x=b
x=c
y=d
y=e
z=1
z=2
z=3"
}

# ---------------------------------------------------------------- $( … )
test_shell_out() {
  setup
  echo one >version.txt
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
values:
  COPY version.txt /
  ARG V=$(cat /version.txt)
  LET W = "w-$(echo $V | tr a-z A-Z)"
  SET W = "$W!"
  WORKDIR /dir-$(cat /version.txt)
  RUN --mount=type=tmpfs,target=/t-$(echo $V) echo "$V $W $(pwd) $(ls -d /t-*)" >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out/
failing:
  ARG BAD=$(echo oops >&2; exit 3)
EOF
  earth_ok +values
  file_is out/out.txt "one w-ONE! /dir-one /t-one"
  earth_ok +values
  steps_run 0 # shell-outs are cached: no sandbox starts
  echo two >version.txt
  earth_ok +values
  file_is out/out.txt "two w-TWO! /dir-two /t-two"
  earth_fails +failing
  log_has "Earthfile:12:" "exited with status 3" "oops"
}

# ---------------------------------------------------------------- DO
test_do() {
  setup
  mkdir lib
  cat >lib/Earthfile <<'EOF'
VERSION 0.8
ARG --global LG=lib-global
OTHER:
  FUNCTION
  ARG B
  RUN echo "other $B $LG ${G:-no-caller-global}" >/other
EOF
  earthfile <<'EOF'
VERSION 0.8
IMPORT ./lib AS lib
FROM busybox
ARG --global G=g
t:
  ARG X=x
  LET L = l
  DO +LOCAL --A=$X
  DO --pass-args +PASS
  DO lib+OTHER --B=b
  RUN echo "caller $L" >/caller
  RUN cat /local /nested /pass /other /caller >/all
  SAVE ARTIFACT /all AS LOCAL out/all
LOCAL:
  FUNCTION
  ARG A
  ARG X=function-default
  LET L = function-l
  DO +NESTED --N=$A-$L
  RUN echo "local $A $X $L $G" >/local
NESTED:
  FUNCTION
  ARG N
  RUN echo "nested $N" >/nested
PASS:
  FUNCTION
  ARG X
  RUN echo "pass $X" >/pass
required:
  DO +NEEDS
NEEDS:
  FUNCTION
  ARG --required R
  RUN echo "$R"
EOF
  earth_ok +t
  file_is out/all "local x function-default function-l g
nested x-function-l
pass x
other b lib-global no-caller-global
caller l"
  earth_ok +t --X=y
  file_is out/all "local y function-default function-l g
nested y-function-l
pass y
other b lib-global no-caller-global
caller l"
  earth_fails +required
  log_has "Earthfile:33:" "ARG R is required but was not set"
}

# COMMAND (0.6/0.7), the old spelling of FUNCTION.
test_do_command() {
  setup
  earthfile <<'EOF'
VERSION 0.7
FROM busybox
t:
  DO +OLD --A=x
  SAVE ARTIFACT /c AS LOCAL out/c
OLD:
  COMMAND
  ARG A
  RUN echo "old $A" >/c
EOF
  earth_ok +t
  file_is out/c "old x"
}

# ---------------------------------------------------------------- WAIT
test_wait() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
w:
  WAIT
    RUN echo early >/early
    SAVE ARTIFACT /early AS LOCAL out/early
  END
  RUN echo late >/late
  SAVE ARTIFACT /late AS LOCAL out/late
  ARG FAIL=no
  RUN [ "$FAIL" = no ]
EOF
  earth_fails +w --FAIL=yes
  file_is out/early early # written at the WAIT's END
  no_file out/late        # written only after a successful build
  earth_ok +w
  file_is out/early early
  file_is out/late late
  log_has "artifact  +w" "out/early" "out/late"
}

# ---------------------------------------------------------------- TRY
test_try() {
  setup
  earthfile <<'EOF'
VERSION --try 0.8
FROM busybox
t:
  ARG CODE=3
  TRY
    RUN echo "report $CODE" >/report.txt && exit $CODE
  FINALLY
    SAVE ARTIFACT --if-exists /report.txt AS LOCAL out/report.txt
  END
  RUN echo after >/after
  SAVE ARTIFACT /after AS LOCAL out/after
EOF
  earth_fails +t
  log_has "Earthfile:6:" "exited with status 3"
  file_is out/report.txt "report 3" # saved from the failed RUN's filesystem
  no_file out/after
  earth_ok +t --CODE=0
  file_is out/report.txt "report 0"
  file_is out/after after
}

# ---------------------------------------------------------------- dynamic references
test_dynamic_refs() {
  setup
  mkdir sub
  cat >sub/Earthfile <<'EOF'
VERSION 0.8
FROM busybox
lib:
  ARG X=none
  RUN echo "lib $X" >/lib.txt
  SAVE ARTIFACT /lib.txt
EOF
  earthfile <<'EOF'
VERSION 0.8
IMPORT ./sub AS s
FROM busybox
main:
  RUN echo b >/which
  BUILD +$(cat /which) --V=$(echo dyn)
  FROM ./sub+$(echo lib) --X=$(echo from)
  COPY (./sub+lib/lib.txt --X=$(echo copied)) /copied.txt
  COPY (s+$(echo lib)/lib.txt --X=aliased) /aliased.txt
  FOR t IN $(echo a b)
    BUILD +$t --V=loop-$t
  END
  RUN cat /lib.txt /copied.txt /aliased.txt >/main.txt
  SAVE ARTIFACT /main.txt AS LOCAL out/main.txt
a:
  ARG V=none
  RUN echo "a $V" >/a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a-$V.txt
b:
  ARG V=none
  RUN echo "b $V" >/b.txt
  SAVE ARTIFACT /b.txt AS LOCAL out/b-$V.txt
cycle:
  BUILD +$(echo cycle2)
cycle2:
  BUILD +$(echo cycle)
EOF
  earth_ok +main
  file_is out/main.txt "lib from
lib copied
lib aliased"
  file_is out/b-dyn.txt "b dyn"
  file_is out/a-loop-a.txt "a loop-a"
  file_is out/b-loop-b.txt "b loop-b"
  earth_ok +main
  steps_run 0
  earth_fails +cycle
  log_has "dependency cycle"
}

# Several targets asking for the same instance at once build it once.
test_dynamic_once() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
all:
  BUILD +one
  BUILD +two
  BUILD +three
one:
  BUILD +$(echo shared) --N=$(echo 1)
two:
  FROM busybox
  FROM +$(echo shared) --N=$(echo 1)
three:
  COPY (+shared/n --N=$(echo 1)) /n
shared:
  ARG N
  RUN --mount=type=cache,id=once,target=/runs,sharing=shared sleep 1; echo "run $N" >>/runs/log; cp /runs/log /n
  SAVE ARTIFACT /n
log:
  RUN --mount=type=cache,id=once,target=/runs,sharing=shared cat /runs/log >/log
  SAVE ARTIFACT /log AS LOCAL out/log
EOF
  earth_ok -j 3 +all
  # built once: its RUN is shown once (a second build would show it cached)
  eq "$(grep -c '^ *+shared.*RUN' "$T/log")" 1 "+shared's RUN lines"
  earth_ok --no-cache +log
  file_is out/log "run 1"
}

# ---------------------------------------------------------------- builtins
test_builtins() {
  setup
  git init -q -b main . && git -c user.email=a@b.c -c user.name=A commit -q --allow-empty -m init
  local hash arch
  hash=$(git rev-parse HEAD)
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
names:
  ARG EARTHLY_TARGET_NAME
  ARG TARGETPLATFORM
  ARG TARGETOS
  ARG TARGETARCH
  ARG USERPLATFORM
  ARG EARTHLY_GIT_HASH
  ARG EARTHLY_GIT_SHORT_HASH
  ARG EARTHLY_GIT_BRANCH
  ARG EARTHLY_VERSION
  RUN echo "$EARTHLY_TARGET_NAME $TARGETPLATFORM $TARGETOS $TARGETARCH $USERPLATFORM" >/b
  RUN echo "$EARTHLY_GIT_HASH $EARTHLY_GIT_SHORT_HASH $EARTHLY_GIT_BRANCH" >>/b
  RUN test -n "$EARTHLY_VERSION" && echo "${UNDECLARED_IS_EMPTY:-empty}" >>/b
  SAVE ARTIFACT /b AS LOCAL out/b
EOF
  earth_ok +names
  file_is out/b "names linux/$arch linux $arch linux/$arch
$hash ${hash:0:8} main
empty"
}

# ---------------------------------------------------------------- run-time scope
test_scope() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
parent:
  ENV FROM_PARENT=p
target-scope:
  FROM +parent
  # an image's ENV is a variable for expansion (Earthly resets its env vars on FROM)
  WORKDIR /in-$FROM_PARENT
  LET V = start
  IF true
    SET V = "$V-then"
  ELSE
    SET V = "$V-else"
  END
  ENV E=$V
  RUN echo "$(pwd) $V $E" >/s
  SAVE ARTIFACT /s AS LOCAL out/s
EOF
  earth_ok +target-scope
  file_is out/s "/in-p start-then start-then"
}

# ---------------------------------------------------------------- conditional references
# A target reached only through an IF branch or a dynamic FOR is built when
# a run reaches its statement, never up front. Every target below appends
# its name to a shared cache mount (a run marker); +marks reads it back.
MARKS='RUN --mount=type=cache,id=marks,target=/marks,sharing=shared'
marks_target() {
  cat <<EOF
marks:
  $MARKS touch /marks/log; cp /marks/log /log
  SAVE ARTIFACT /log AS LOCAL out/marks
EOF
}

test_if_untaken_build() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
all:
  IF false
    BUILD +broken
  END
  FOR x IN \$(true)
    BUILD +broken
    COPY +broken/f /f
  END
broken:
  $MARKS echo broken >>/marks/log
  RUN false
$(marks_target)
EOF
  earth_ok +all
  log_lacks "+broken"
  earth_ok --no-cache +marks
  file_is out/marks ""
  # the static graph still shows the conditional edges
  earth_ok --dry-run +all
  log_has "+broken"
}

test_if_taken_build() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
all:
  BUILD +both
  IF true
    BUILD +taken
    BUILD +both
    COPY +copied/c /c
  END
  RUN cat /c >/all
  SAVE ARTIFACT /all AS LOCAL out/all
taken:
  $MARKS echo taken >>/marks/log
  RUN echo t >/t
  SAVE ARTIFACT /t AS LOCAL out/t
both:
  $MARKS echo both >>/marks/log
copied:
  $MARKS echo copied >>/marks/log
  RUN echo c >/c
  SAVE ARTIFACT /c
$(marks_target)
EOF
  earth_ok +all
  file_is out/t "t"   # outputs of what the branch built
  file_is out/all "c" # COPY of a target built on demand
  earth_ok --no-cache +marks
  # +both is also reached unconditionally: built once, by the scheduler
  eq "$(sort out/marks | tr '\n' ' ')" "both copied taken " "targets run"
}

test_if_untaken_from() {
  setup
  earthfile <<EOF
VERSION 0.8
FROM busybox
else-untaken:
  IF true
    FROM busybox
  ELSE
    FROM +broken
  END
  RUN echo ok >/ok
  SAVE ARTIFACT /ok AS LOCAL out/ok
else-taken:
  IF false
    FROM +broken
  ELSE
    FROM +basis
  END
  RUN cat /base >/ok
  SAVE ARTIFACT /ok AS LOCAL out/ok
basis:
  $MARKS echo basis >>/marks/log
  RUN echo from-base >/base
broken:
  $MARKS echo broken >>/marks/log
  RUN false
$(marks_target)
EOF
  earth_ok +else-untaken
  file_is out/ok "ok"
  earth_ok +else-taken
  file_is out/ok "from-base"
  earth_ok --no-cache +marks
  file_is out/marks "basis"
}

# A RUN --push of a target an IF branch reached runs with --push; one in a
# branch not taken never.
test_if_taken_push() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
all:
  IF true
    BUILD +deploy
  END
  IF false
    BUILD +skipped
  END
deploy:
  RUN --push echo deploy-ran | tr a-z A-Z
skipped:
  RUN --push echo skipped-ran
EOF
  earth_ok +all
  log_has "did not run: RUN --push echo deploy-ran"
  log_lacks "skipped-ran" "DEPLOY-RAN"
  earth_ok --push +all
  log_has "DEPLOY-RAN"
  log_lacks "skipped-ran"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: lang_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "lang_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
