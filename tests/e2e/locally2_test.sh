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

# A base recipe that BUILDs (at build time) a target starting from it: a
# cycle, reported as such (the shared +base is not waited for: no hang).
test_base_cycle() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
BUILD +$(echo a)
a:
  RUN echo a
EOF
  status=0
  timeout 30 "$earth" +a >"$T/log" 2>&1 || status=$?
  eq "$status" 1 "exit status"
  log_has "dependency cycle: +a needs itself"
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
shellout:
  LOCALLY
  WAIT
    BUILD +bad
    IF : $tag && sleep 30 && touch marker-shellout
      RUN true
    END
  END
EOF
  local t start took
  for t in all wait block shellout own; do
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
  no_file marker-shellout
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

# ---------------------------------------------------------------- --interactive
# pty_run OUT STEP... -- CMD...: CMD on a new pseudo-terminal (33 rows, 111
# columns) as its controlling terminal, everything it prints kept in OUT.
# Steps, in order: wait:TEXT (until OUT has TEXT), send:TEXT (typed, then
# Enter), ctrl-c, resize:ROWS:COLS, modes (prints "raw" or "cooked": the
# terminal's modes now). At the end prints "modes-restored" or
# "modes-changed"; exits with CMD's status (124 when it ran 30s).
pty_run() {
  command -v python3 >/dev/null || skip "no python3"
  python3 - "$@" <<'PY'
import fcntl, os, select, struct, subprocess, sys, termios, time
out, args = sys.argv[1], sys.argv[2:]
steps, cmd = args[:args.index("--")], args[args.index("--") + 1:]
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
before = termios.tcgetattr(s)
def session():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(cmd, stdin=s, stdout=s, stderr=s, preexec_fn=session)
data, deadline = b"", time.time() + 30
def pump(wait):
    global data
    r, _, _ = select.select([m], [], [], wait)
    if r:
        try:
            data += os.read(m, 65536)
        except OSError:
            pass
for step in steps:
    kind, _, arg = step.partition(":")
    if kind == "wait":
        while arg.encode() not in data and time.time() < deadline and p.poll() is None:
            pump(0.1)
        time.sleep(0.3)
    elif kind == "send":
        os.write(m, arg.encode() + b"\r")
    elif kind == "ctrl-c":
        os.write(m, b"\x03")
    elif kind == "resize":
        rows, cols = arg.split(":")
        fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
    elif kind == "modes":
        print("cooked" if termios.tcgetattr(s)[3] & termios.ICANON else "raw", flush=True)
while p.poll() is None and time.time() < deadline:
    pump(0.1)
timed_out = p.poll() is None
if timed_out:
    p.kill()
rc = 124 if timed_out else p.wait()
pump(0.2)
open(out, "wb").write(data)
after = termios.tcgetattr(s)
print("modes-restored" if after == before else "modes-changed", flush=True)
sys.exit(rc)
PY
}

# The command sees a terminal: `tty` names a /dev/pts path, its stdin,
# stdout and stderr are ttys, it starts with earth's window size; a typed
# line reaches it; earth's terminal is raw meanwhile and restored after.
test_interactive_pty() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --interactive tty && test -t 0 && test -t 1 && test -t 2 && stty size && echo tty-ok
  RUN --interactive-keep read line && echo "got:$line" >/got
  RUN cat /got
  SAVE ARTIFACT /got AS LOCAL out/got
EOF
  local r
  r=$(pty_run "$T/log" "wait:read line" modes send:typed-here -- "$earth" +t) ||
    fail "earth on a pty exited with $?: $r"
  eq "$r" $'raw\nmodes-restored' "earth's terminal during and after the session"
  grep -qaE $'/dev/pts/[0-9]+\r?$' "$T/log" || fail "tty did not print a /dev/pts path"
  log_has "33 111" "tty-ok"
  file_is out/got "got:typed-here"
  # Not on a terminal: as before, a located error.
  earth_fails +t </dev/null
  log_has "RUN --interactive needs a terminal"
}

# A window size change reaches the command (SIGWINCH, TIOCSWINSZ).
test_interactive_pty_resize() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --interactive read x && stty size && echo resized-ok
EOF
  pty_run "$T/log" "wait:read x" resize:40:120 send:go -- "$earth" +t >/dev/null ||
    fail "earth on a pty exited with $?"
  log_has "40 120" "resized-ok"
}

# Ctrl-C in the session goes to the command (raw mode: not to earth): it
# stops, the step fails, the terminal's modes are back, nothing is left.
test_interactive_pty_ctrl_c() {
  setup
  local tag=e2e-locally2-pty-$$
  earthfile <<EOF
VERSION 0.8
FROM busybox
t:
  RUN --interactive : $tag && sleep 30
EOF
  local r start
  status=0
  start=$(date +%s)
  r=$(pty_run "$T/log" "wait:sleep 30" ctrl-c -- "$earth" +t) || status=$?
  ((status == 1)) || fail "earth exited with $status after ^C in the session"
  (($(date +%s) - start < 15)) || fail "^C did not stop the command"
  eq "$r" modes-restored "earth's terminal after ^C"
  log_has "signal"
  ! pgrep -f "$tag" >/dev/null || fail "the command is still running: $(pgrep -af "$tag")"
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
