#!/usr/bin/env bash
# End-to-end tests of what an earth process loads (issue 9, start-up time):
# `earth --version` and a no-op build map no shared library beyond the C
# runtime (libarchive, yaml-cpp, libcrypto, fmt and libstdc++
# are linked statically; libcurl is dlopen()ed by a registry request only).
# The timing itself is bench/startup/run.sh.
#
# Usage: EARTH=build/earth tests/e2e/startup_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# loaded CMD...: the base names of the shared objects the dynamic loader
# initialised for CMD (LD_DEBUG=libs), sorted, on one line.
loaded() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/earth-ld.XXXXXX")
  LD_DEBUG=libs LD_DEBUG_OUTPUT=$dir/ld "$@" >"$dir/out" 2>&1 || {
    cat "$dir/out" >&2
    rm -rf "$dir"
    fail "$* failed"
  }
  sed -n 's/.*calling init: //p' "$dir"/ld.* | xargs -n1 basename | sort -u | tr '\n' ' ' | sed 's/ $//'
  rm -rf "$dir"
}

# only_runtime LIBS WHAT: LIBS holds nothing but the loader, libc and libm.
only_runtime() {
  local lib
  for lib in $1; do
    case $lib in
    ld-linux-*.so.* | libc.so.6 | libm.so.6) ;;
    *) fail "$2 loads $lib (all: $1)" ;;
    esac
  done
  [[ " $1 " == *" libc.so.6 "* ]] || fail "$2: LD_DEBUG saw no libc ($1): the check is blind"
}

test_version_loads_only_the_runtime() {
  [[ -x $earth ]] || skip "no earth binary at $earth (set EARTH)"
  only_runtime "$(loaded "$earth" --version)" "earth --version"
}

test_noop_build_loads_only_the_runtime() {
  setup
  mkdir src
  echo one >src/a.txt
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
all:
  COPY src /src
  RUN cat /src/a.txt >/out.txt
  SAVE ARTIFACT /out.txt AS LOCAL out.txt
EOF2
  earth_ok +all
  file_is out.txt one
  earth_ok +all # settles: the output written into the context is seen once
  only_runtime "$(loaded "$earth" +all)" "a no-op earth +all"
  earth_ok +all
  steps_run 0
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: startup_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "startup_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
