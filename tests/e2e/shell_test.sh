#!/usr/bin/env bash
# End-to-end tests of the dynamic values the engine computes while it runs
# (reference §1.2–1.5, §2.5): `$( … )` in a global ARG (run in the base
# recipe's environment, cached like a RUN), `$( … )` and IF conditions after
# LOCALLY (on the host, never cached), the cache-mount locks of shell-outs
# and conditions, and secret redaction of output however it is cut.
#
# Usage: EARTH=build/earth tests/e2e/shell_test.sh CASE...   (--list: the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

SECRET=Zq7-hunter2-Wx4 # never in the output or the cache dir

# ---------------------------------------------------------------- global ARG
# `ARG --global X=$(…)` runs in the base recipe's environment at that point
# (after its FROM and COPY, before its later RUN), once; every target of the
# file sees the value, whether it FROMs +base or an image of its own.
test_global_shell_out() {
  setup
  echo one >version.txt
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
COPY version.txt /
ARG --global V=$(cat /version.txt)
ARG LOCAL=$(echo local-$(cat /version.txt))
ARG --global FROM_LOCAL=$LOCAL
RUN echo changed-later >/version.txt
implicit:
  RUN echo "$V $FROM_LOCAL ${LOCAL:-unset} $(cat /version.txt)" >/r
  SAVE ARTIFACT /r AS LOCAL out/implicit
own-from:
  FROM busybox
  RUN echo "$V" >/r
  SAVE ARTIFACT /r AS LOCAL out/own-from
ref:
  FROM busybox
  RUN echo "ref $V" >/r
  SAVE ARTIFACT /r AS LOCAL out/ref-$V
all:
  BUILD +implicit
  BUILD +own-from
  BUILD +ref
EOF
  earth_ok +all
  file_is out/implicit "one local-one unset changed-later"
  file_is out/own-from one
  file_is out/ref-one "ref one"
  earth_ok +all
  steps_run 0 # the shell-outs are cached like RUNs
  echo two >version.txt
  earth_ok +all
  file_is out/implicit "two local-two unset changed-later"
  file_is out/own-from two
  file_is out/ref-two "ref two"
  earth_ok --dry-run +all
}

# A function DO'd from another Earthfile gets the globals of its own file,
# shell-outs run in that file's base environment; an override replaces one.
test_global_shell_out_do() {
  setup
  mkdir lib
  cat >lib/Earthfile <<'EOF'
VERSION 0.8
FROM busybox
RUN echo lib-base >/marker
ARG --global LIBG=$(cat /marker)
USE:
  FUNCTION
  RUN echo "$LIBG" >/used
EOF
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ARG --global G=$(echo from-$(cat /etc/hostname 2>/dev/null || echo sandbox) | wc -c)
t:
  DO ./lib+USE
  RUN echo "$G" >/g
  SAVE ARTIFACT /used AS LOCAL out/used
  SAVE ARTIFACT /g AS LOCAL out/g
EOF
  earth_ok +t
  file_is out/used lib-base
  [[ $(cat out/g) -gt 0 ]] || fail "G is '$(cat out/g)'"
  earth_ok +t
  steps_run 0
  earth_ok +t --G=given
  file_is out/g given
}

# A function DO'd by the base recipe of its own file, and by a target of
# it, sees the globals of the base recipe's run (no second run of +base
# from inside itself: that would be a cycle).
test_global_shell_out_base_do() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ARG --global V=$(echo base-value)
DO +SETUP
SETUP:
  FUNCTION
  RUN echo "setup $V" >>/log
t:
  DO +SETUP
  SAVE ARTIFACT /log AS LOCAL out/log
EOF
  earth_ok +t
  file_is out/log "setup base-value
setup base-value"
}

# A global shell-out that fails is located at its ARG in the base recipe.
test_global_shell_out_fails() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
ARG --global BAD=$(echo broken >&2; exit 4)
t:
  FROM busybox
  RUN echo "$BAD"
EOF
  earth_fails +t
  log_has "Earthfile:3:" "exited with status 4" "broken"
}

# ---------------------------------------------------------------- LOCALLY
# After LOCALLY, `$( … )` and IF conditions run on the host in the
# Earthfile's directory with the host's environment, every time.
test_locally_shell_out_and_if() {
  setup
  mkdir sub
  cat >sub/Earthfile <<'EOF'
VERSION 0.8
host:
  LOCALLY
  ARG WHERE=$(pwd)
  LET N = $(ls marker-* 2>/dev/null | wc -l)
  IF [ -f marker-a ]
    RUN echo "a $WHERE $N $HOST_ONLY" >>result
  ELSE IF test "$HOST_ONLY" = from-host
    RUN echo "not-a $N" >>result
  END
  FOR f IN $(ls marker-* 2>/dev/null)
    RUN echo "item $f" >>result
  END
  IF --secret S=tok [ "$S" = "$(echo WnE3LWh1bnRlcjItV3g0 | base64 -d)" ]
    RUN echo secret-matched >>result
  END
EOF
  touch sub/marker-a sub/marker-b
  export HOST_ONLY=from-host
  earth_ok --secret tok=$SECRET ./sub+host
  file_is sub/result "a $P/sub 2 from-host
item marker-a
item marker-b
secret-matched"
  log_lacks "$SECRET"
  rm sub/result sub/marker-a
  earth_ok --secret tok=$SECRET ./sub+host
  file_is sub/result "not-a 1
item marker-b
secret-matched"
  steps_run 9 # never cached: the conditions and shell-outs ran again
}

# A LOCALLY condition that cannot start is an error; flags that cannot
# apply on the host are refused, located.
test_locally_if_errors() {
  setup
  earthfile <<'EOF'
VERSION 0.8
missing:
  LOCALLY
  IF no-such-command-on-the-host
    RUN true
  END
mount:
  LOCALLY
  IF --mount=type=cache,target=/c true
    RUN true
  END
failing:
  LOCALLY
  ARG X=$(echo on-the-host >&2; exit 5)
EOF
  earth_fails +missing
  log_has "Earthfile:4:" "the condition could not run (exit status 127"
  earth_fails +mount
  log_has "Earthfile:9:" "IF --mount cannot be used after LOCALLY"
  earth_fails +failing
  log_has "Earthfile:14:" "exited with status 5" "on-the-host"
}

# The base recipe may be LOCALLY: its global shell-out runs on the host.
test_locally_global() {
  setup
  earthfile <<'EOF'
VERSION 0.8
LOCALLY
ARG --global HOST_DIR=$(pwd)
t:
  FROM busybox
  RUN echo "$HOST_DIR" >/d
  SAVE ARTIFACT /d AS LOCAL out/d
EOF
  earth_ok +t
  file_is out/d "$P"
}

# ---------------------------------------------------------------- cache locks
# Conditions and shell-outs take their cache mounts' locks as RUN does: with
# sharing=locked (the default) two targets using one cache at once take
# turns. Each use makes /c/busy for a second; one that finds it there saw
# the other inside.
test_cache_locks() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
if-a:
  IF --mount=type=cache,id=lk,target=/c,sharing=locked sh -c 'mkdir /c/busy && sleep 1 && rmdir /c/busy && echo a'
    RUN echo ok >/r
  ELSE
    RUN echo overlap >/r
  END
  SAVE ARTIFACT /r AS LOCAL out/if-a
if-b:
  IF --mount=type=cache,id=lk,target=/c,sharing=locked sh -c 'mkdir /c/busy && sleep 1 && rmdir /c/busy && echo b'
    RUN echo ok >/r
  ELSE
    RUN echo overlap >/r
  END
  SAVE ARTIFACT /r AS LOCAL out/if-b
for-c:
  FOR --mount=type=cache,id=lk,target=/c,sharing=locked x IN $(mkdir /c/busy && sleep 1 && rmdir /c/busy && echo ok)
    RUN echo "$x" >/r
  END
  SAVE ARTIFACT /r AS LOCAL out/for-c
cache-d:
  CACHE --id lk /c
  ARG X=$(mkdir /c/busy && sleep 1 && rmdir /c/busy && echo ok)
  RUN echo "$X" >/r
  SAVE ARTIFACT /r AS LOCAL out/cache-d
all:
  BUILD +if-a
  BUILD +if-b
  BUILD +for-c
  BUILD +cache-d
EOF
  local start=$SECONDS
  earth_ok -j 4 +all
  for t in if-a if-b for-c cache-d; do file_is out/$t ok; done
  ((SECONDS - start >= 4)) || fail "four locked uses of one cache took $((SECONDS - start))s, not 4s or more"
}

# ---------------------------------------------------------------- redaction
# Output is read in 64 KiB pieces; a secret across a piece boundary, inside
# a line longer than a piece, split between two writes, or in the stderr of
# a shell-out, a condition or a LOCALLY RUN never shows.
test_redact_chunks() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret S=tok sh -c 'head -c 65530 /dev/zero | tr "\0" a; printf %s "$S"; echo " end"'
  RUN --secret S=tok sh -c 'head -c 200000 /dev/zero | tr "\0" b; printf %s "$S"; head -c 100000 /dev/zero | tr "\0" c; echo'
  RUN --secret S=tok sh -c 'printf "split %s" "${S%???????}"; sleep 0.3; printf "%s done\n" "${S#????????}"'
  IF --secret S=tok sh -c 'head -c 65533 /dev/zero | tr "\0" d >&2; echo "$S" >&2; true'
    RUN true
  END
  FOR --secret S=tok x IN $(head -c 65534 /dev/zero | tr "\0" e >&2; echo "$S" >&2; echo one)
    RUN echo "$x" >/x
  END
  RUN --secret S=tok sh -c 'echo "visible-marker"; printf %s "$S" | head -c 7; printf "\n"'
host:
  LOCALLY
  RUN --secret S=tok sh -c 'head -c 65532 /dev/zero | tr "\0" f; printf %s "$S"; echo'
EOF
  earth_ok --progress=plain --secret tok=$SECRET +t
  log_has "visible-marker" "Zq7-hun" "split ***"
  log_lacks "$SECRET" "hunter2-Wx4" "nter2-Wx4"
  grep -q 'aaa\*\*\*' "$T/log" || fail "the secret at the 64 KiB mark is not shown as ***"
  ! grep -rqF -- "$SECRET" "$EARTH_CACHE_DIR" || fail "the cache dir holds the secret"
  earth_ok --progress=plain --secret tok=$SECRET +host
  log_has "***"
  log_lacks "$SECRET" "hunter2-Wx4"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: shell_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "shell_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
