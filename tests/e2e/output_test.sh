#!/usr/bin/env bash
# End-to-end tests of what a build shows (docs/output.md): the plain
# printer's prefixes and summary, the JSON events, the failure report, the
# colour and padding environment, GitHub Actions annotations, and the tty
# printer in a real terminal (tmux). Same pattern as engine_test.sh.
#
# Usage: EARTH=build/earth tests/e2e/output_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# The cases set what they test; nothing from the caller's environment.
unset GITHUB_ACTIONS NO_COLOR FORCE_COLOR EARTH_PROGRESS EARTHLY_PROGRESS EARTH_TARGET_PADDING \
  EARTHLY_TARGET_PADDING EARTH_FULL_TARGET EARTHLY_FULL_TARGET

two_targets() {
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox

dep:
  RUN echo dep-out >/dep.txt && sleep 0.3
  SAVE ARTIFACT /dep.txt

build:
  COPY +dep/dep.txt /dep.txt
  RUN echo "hello-out $(cat /dep.txt)"
  SAVE ARTIFACT /dep.txt AS LOCAL out/dep.txt
EOF2
}

esc=$'\033'

# ---------------------------------------------------------------- plain
test_plain_prefixes_and_summary() {
  setup
  two_targets
  earth_ok +build # stderr is a file: the plain printer
  grep -qE '^ +\+build \| --> RUN echo "hello-out' "$T/log" || fail "no padded '+build | --> RUN' line"
  grep -qE '^ {14}\+build \| hello-out dep-out$' "$T/log" || fail "output line not prefixed (20 columns)"
  grep -qE '^ {16}\+dep \| --> RUN' "$T/log" || fail "no '+dep | --> RUN' line"
  log_has "Build succeeded in" "2 targets (2 built, 0 cached), 5 steps run, 0 cached" "out/dep.txt"
  grep -qE '^  artifact +\+build +.*out/dep.txt$' "$T/log" || fail "the summary lacks the artifact written"
  log_lacks "$esc["
  # Again: every step a cache hit, with the time it saved (the full path's
  # no-op: a request journal would show only the targets' lines).
  rm -rf "$EARTH_CACHE_DIR/journals"
  earth_ok +build
  log_has "+build | *cached* --> RUN echo" "+dep | *cached* --> RUN echo dep-out" "*cached* done"
  log_has "2 targets (0 built, 2 cached), 0 steps run, 5 cached (the cache saved"
  log_lacks "hello-out dep-out"
}

test_padding_and_full_target() {
  setup
  mkdir -p services/api
  cat >services/api/Earthfile <<'EOF2'
VERSION 0.8
integration-test:
  FROM busybox
  RUN echo api-out
EOF2
  earthfile <<'EOF2'
VERSION 0.8
all:
  BUILD ./services/api+integration-test
EOF2
  EARTH_TARGET_PADDING=12 earth_ok +all
  grep -qE '^\./s/api\+integration-test \| api-out$' "$T/log" || fail "not shortened to ./s/api+…"
  EARTHLY_TARGET_PADDING=40 earth_ok --no-cache +all
  grep -qE '^ {9}\./services/api\+integration-test \| api-out$' "$T/log" || fail "EARTHLY_TARGET_PADDING=40"
  EARTH_TARGET_PADDING=5 EARTHLY_FULL_TARGET=1 earth_ok --no-cache +all
  grep -qE '^\./services/api\+integration-test \| api-out$' "$T/log" || fail "EARTHLY_FULL_TARGET=1"
}

# Two instances of one target whose args read alike unquoted (--A="1 --B=2"
# with B empty, and --A=1 --B="2 --B=": both "--A=1 --B=2 --B=") are shown
# apart, each with its own step's output (events and step logs go by the
# name shown).
test_instances_shown_apart() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
all:
  BUILD +t --A="1 --B=2"
  BUILD +t --A=1 --B="2 --B="
t:
  ARG A
  ARG B
  RUN echo "out A=$A B=$B"
EOF2
  earth_ok --progress=json +all
  local one two
  one=$(grep -c '"target":"+t --A=\\"1 --B=2\\" --B=\\"\\"".*"text":"out A=1 --B=2 B="' "$T/log" || true)
  two=$(grep -c '"target":"+t --A=1 --B=\\"2 --B=\\"".*"text":"out A=1 B=2 --B="' "$T/log" || true)
  eq "$one" 1 "output lines of +t --A=\"1 --B=2\""
  eq "$two" 1 "output lines of +t --A=1 --B=\"2 --B=\""
}

test_json_events() {
  setup
  two_targets
  "$earth" --progress=json +build >"$T/events" 2>"$T/log" || fail "earth --progress=json failed"
  python3 - "$T/events" <<'EOF2' || fail "bad JSON events: $(head -5 "$T/events")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
assert all(e["v"] == 1 and isinstance(e["ms"], int) for e in events)
kinds = [e["event"] for e in events]
assert kinds[-1] == "build_finished", kinds
out = [e for e in events if e["event"] == "step_output"]
assert any(e["text"] == "hello-out dep-out" and e["target"] == "+build" for e in out), out
run = [e for e in events if e["event"] == "step_started" and e["command"].startswith("RUN echo \"hello")]
assert run and run[0]["line"] == 10 and run[0]["file"].endswith("Earthfile"), run
done = events[-1]
assert done["success"] and done["steps_run"] == 5 and done["targets"] == 2, done
assert any(o["kind"] == "artifact" and o["path"].endswith("out/dep.txt") for o in done["outputs"]), done
fin = [e for e in events if e["event"] == "step_finished"]
assert all(isinstance(e["duration_ms"], int) for e in fin) and len(fin) == 5, fin
EOF2
  [[ ! -s $T/log ]] || fail "stderr is not empty with --progress=json: $(cat "$T/log")"
}

# ---------------------------------------------------------------- failures
test_failure_report() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
bad:
  RUN i=1; while [ $i -le 40 ]; do echo "out-$i"; i=$((i+1)); done; exit 3
missing:
  RUN no-such-tool --version
priv:
  RUN --privileged true
EOF2
  earth_fails +bad
  eq "$status" 1 "exit status of a failed build"
  log_has "+bad *failed* | failed at ./Earthfile:4: RUN i=1" "exited with status 3" "Build failed in"
  # The error at the end: located, the command's line, its last 30 lines.
  local report
  report=$(sed -n '/^Build failed/,$p' "$T/log")
  grep -qF "Earthfile:4:3: error: the command exited with status 3" <<<"$report" || fail "no located error: $report"
  grep -qF "RUN i=1; while" <<<"$report" || fail "no code frame"
  grep -qxF "  | out-40" <<<"$report" || fail "no last line"
  grep -qxF "  | out-11" <<<"$report" || fail "not 30 lines"
  ! grep -qxF "  | out-10" <<<"$report" || fail "more than 30 lines"
  grep -qF "while building +bad" <<<"$report" || fail "no target"
  earth_fails +missing
  log_has "exited with status 127" "hint: a command was not found"
  earth_fails +priv
  log_has "Earthfile:8:3: error: RUN --privileged needs -P" "hint: run earth with -P to allow RUN --privileged"
}

test_github_annotations() {
  setup
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
ok:
  RUN echo ok-out
bad:
  BUILD +ok
  RUN echo bad-out; exit 2
EOF2
  GITHUB_ACTIONS=true earth_fails +bad
  log_has "::group::+ok (" "::endgroup::" "::group::+bad (failed)" "+bad | bad-out"
  log_has "::error file=./Earthfile,line=7::+bad: RUN echo bad-out; exit 2: the command exited with status 2"
  # Each target's lines are kept together inside its group.
  awk '/^::group::\+ok/{g=1} /^::endgroup::/{g=0} /\+ok \| ok-out/{ if (!g) exit 1 }' "$T/log" ||
    fail "+ok's output is outside its group"
  earth_ok --github-annotations --no-cache +ok
  log_has "::group::+ok ("
  earth_ok --no-cache +ok
  log_lacks "::group::"
}

test_colour_env() {
  setup
  two_targets
  FORCE_COLOR=1 earth_ok +build
  log_has "$esc["
  FORCE_COLOR=1 NO_COLOR=1 earth_ok +build
  log_lacks "$esc["
  FORCE_COLOR=0 earth_ok +build
  log_lacks "$esc["
  # Errors are coloured by the same decision, whatever the command.
  printf 'VERSION 0.8\nbad:\n  RUN "unterminated\n' >Earthfile
  FORCE_COLOR=1 earth_fails +bad
  log_has "${esc}[" "error:"
  FORCE_COLOR=1 earth_fails debug ast
  log_has "${esc}[" "error:"
  earth_fails debug ast
  log_lacks "$esc["
}

test_bad_progress() {
  setup
  two_targets
  earth_fails --progress=fancy +build
  eq "$status" 2 "exit status (a usage error)"
  log_has "--progress must be auto, tty, plain or json, not 'fancy'"
  earth_fails --progress=fancy +no-such-target # checked before resolving
  eq "$status" 2 "exit status"
  log_has "not 'fancy'"
  EARTH_PROGRESS=json earth_ok +build
  head -1 "$T/log" | grep -q '^{"v":1,' || fail "EARTH_PROGRESS=json: $(head -1 "$T/log")"
  EARTH_PROGRESS=bogus earth_fails +build
  log_has "must be auto, tty, plain or json, not 'bogus'"
}

# The printer's variables are read where every flag's are (the flag table):
# EARTH_PROGRESS, else EARTHLY_PROGRESS, else .env; a set but empty
# EARTH_PROGRESS means the default, as an empty EARTH_JOBS does.
test_progress_from_the_environment() {
  setup
  two_targets
  EARTHLY_PROGRESS=json earth_ok +build
  head -1 "$T/log" | grep -q '^{"v":1,' || fail "EARTHLY_PROGRESS=json: $(head -1 "$T/log")"
  EARTH_PROGRESS=plain EARTHLY_PROGRESS=json earth_ok +build
  log_has "+build | "
  EARTH_PROGRESS= EARTHLY_PROGRESS=json earth_ok +build
  log_has "+build | "
  log_lacks '{"v":1,'
  printf 'EARTH_PROGRESS=json\n' >.env
  earth_ok +build
  head -1 "$T/log" | grep -q '^{"v":1,' || fail "EARTH_PROGRESS=json in .env: $(head -1 "$T/log")"
}

# ---------------------------------------------------------------- tty
# The tmux server of test_tty_live_view goes with the scratch dir; the
# test's exit status is kept.
tty_cleanup() {
  local s=$?
  tmux -L "$sock" kill-server 2>/dev/null || true
  (exit "$s")
  cleanup_scratch
}

# Runs earth in a tmux pane (a real terminal, 100x30) and reads the screen.
test_tty_live_view() {
  setup
  command -v tmux >/dev/null || skip "no tmux (scripts/deps.sh --test installs it)"
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
slow:
  RUN i=0; while [ $i -lt 40 ]; do echo "tick-$i"; i=$((i+1)); sleep 0.1; done
quick:
  RUN echo quick-out
all:
  BUILD +slow
  BUILD +quick
EOF2
  local screen i
  sock=earth-e2e-$$
  tmux_() { tmux -L "$sock" "$@"; }
  trap tty_cleanup EXIT
  tmux_ -u new-session -d -x 100 -y 30 \
    "cd '$P' && LANG=C.UTF-8 EARTH_CACHE_DIR='$EARTH_CACHE_DIR' '$earth' +all; echo EXIT=\$?; sleep 60"
  # The live view: +slow's line with its step and elapsed time, its last
  # output lines under it, the status line; +quick already scrolled above.
  for ((i = 0; i < 100; i++)); do
    screen=$(tmux_ capture-pane -p)
    grep -qE '^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \+slow +RUN i=0; while .* [0-9.]+m?s$' <<<"$screen" &&
      grep -qE '^    tick-[0-9]+$' <<<"$screen" && grep -qE '^✔ \+quick +done in' <<<"$screen" && break
    sleep 0.1
  done
  ((i < 100)) || fail "no live view; screen was:"$'\n'"$screen"
  grep -qE '^\[[0-9.]+m?s\] 1 built, 0 cached, 1 running$' <<<"$screen" || fail "no status line: $screen"
  ! grep -E 'tick-[0-9]' <<<"$screen" | grep -qvE '^    tick-[0-9]+$' ||
    fail "output outside the live view: $screen"
  for ((i = 0; i < 100; i++)); do
    screen=$(tmux_ capture-pane -p)
    grep -q '^EXIT=' <<<"$screen" && break
    sleep 0.1
  done
  grep -qx 'EXIT=0' <<<"$screen" || fail "earth did not finish: $screen"
  # The end: finished targets, the summary, and no live view left over.
  grep -qE '^✔ \+slow +done in [0-9.]+s$' <<<"$screen" || fail "no finished +slow: $screen"
  grep -qE '^Build succeeded in [0-9.]+m?s: 2 targets \(2 built, 0 cached\), 2 steps run, 0 cached$' \
    <<<"$screen" || fail "no summary: $screen"
  ! grep -qE 'running|tick-|⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏' <<<"$screen" || fail "live view left on screen: $screen"
  # A second build is all cached; narrow terminals cut lines, never wrap them.
  tmux_ resize-window -x 40 -y 30 2>/dev/null || true
  tmux_ respawn-pane -k "cd '$P' && LANG=C.UTF-8 EARTH_CACHE_DIR='$EARTH_CACHE_DIR' '$earth' +all; echo EXIT=\$?; sleep 60"
  for ((i = 0; i < 100; i++)); do
    screen=$(tmux_ capture-pane -p)
    grep -q '^EXIT=' <<<"$screen" && break
    sleep 0.1
  done
  grep -qE '^• \+slow +cached$' <<<"$screen" || fail "no cached +slow: $screen"
  grep -qE '^Build succeeded' <<<"$screen" || fail "no summary on the second run: $screen"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: output_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "output_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
