#!/usr/bin/env bash
# End-to-end tests of the sandbox through `earth +target`: what a RUN can see
# of the host, and the layer a RUN leaves (docs/sandbox.md). Pattern and
# helpers as engine_test.sh (lib.sh); one case per function test_NAME.
#
# Usage: EARTH=build/earth tests/e2e/sandbox_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# mountinfo as root and as an ordinary user inside a RUN: no path of the
# cache, the project or the step scratch.
test_mountinfo_shows_no_host_path() {
  setup
  echo data >"$P/input.txt"
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
all:
  COPY input.txt /input.txt
  RUN cat /proc/self/mountinfo /proc/self/mounts > /root.txt
  USER nobody
  RUN cat /proc/self/mountinfo /proc/self/mounts > /tmp/user.txt && id -u >> /tmp/user.txt
  SAVE ARTIFACT /root.txt AS LOCAL out/root.txt
  SAVE ARTIFACT /tmp/user.txt AS LOCAL out/user.txt
EOF2
  earth_ok +all
  local f
  for f in out/root.txt out/user.txt; do
    [[ -s $f ]] || fail "$f is empty"
    grep -q ' / / .* overlay overlay .*lowerdir=' "$f" || fail "$f lacks the overlay root: $(cat "$f")"
    for path in "$EARTH_CACHE_DIR" "$T" "$P" /dev/shm/.earth-step /var/tmp; do
      ! grep -qF -- "$path" "$f" || fail "$f shows $path: $(grep -F -- "$path" "$f")"
    done
  done
  grep -qx 65534 out/user.txt || fail "the second RUN did not run as nobody: $(tail -1 out/user.txt)"
}

# /proc/keys and /proc/timer_list read empty inside a RUN (masked).
test_host_kernel_info_is_masked() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
all:
  RUN (cat /proc/keys /proc/timer_list 2>/dev/null | wc -c) > /n.txt
  SAVE ARTIFACT /n.txt AS LOCAL out/n.txt
EOF2
  earth_ok +all
  file_is out/n.txt "0"
}

# A RUN's layer made in the memory scratch reaches the next step whole:
# deletions, opaque dirs, modes, hard links, symlinks; and no scratch is
# left in /dev/shm.
test_layers_cross_steps_whole() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
all:
  RUN mkdir -p /d/sub && echo hi > /d/sub/f && chmod 4750 /d/sub/f && ln /d/sub/f /d/hard && \
      ln -s sub/f /d/link && rm /etc/group && rm -rf /home && mkdir /home && touch /home/new
  RUN (stat -c '%a %h' /d/sub/f; cat /d/link; test -e /etc/group || echo no-group; ls -A /home) > /r.txt
  SAVE ARTIFACT /r.txt AS LOCAL out/r.txt
EOF2
  # A private tmpfs for the memory scratch: /dev/shm is shared with the
  # builds of tests running alongside (ctest -j2).
  mkdir "$T/shm" && mount -t tmpfs -o size=64m tmpfs "$T/shm" || fail "mount a tmpfs"
  EARTH_STEP_SCRATCH_DIR=$T/shm earth_ok +all
  file_is out/r.txt "$(printf '4750 2\nhi\nno-group\nnew')"
  eq "$(ls -A "$T/shm")" "" "memory scratch left in the tmpfs"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: sandbox_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "sandbox_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
