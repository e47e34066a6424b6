#!/usr/bin/env bash
# End-to-end tests of RUN's flags that reach outside the step's key:
# --raw-output (how its lines are shown), `earth --ssh-auth-sock` (which
# agent RUN --ssh forwards), --aws (the host's AWS credentials, as secrets)
# and --interactive / --interactive-keep (the step on earth's terminal).
# Same pattern as engine_test.sh.
#
# Usage: EARTH=build/earth tests/e2e/runflags_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
unset GITHUB_ACTIONS NO_COLOR FORCE_COLOR EARTH_PROGRESS EARTHLY_PROGRESS EARTH_TARGET_PADDING \
  EARTHLY_TARGET_PADDING EARTH_SSH_AUTH_SOCK EARTHLY_SSH_AUTH_SOCK

# ---------------------------------------------------------------- --raw-output
test_raw_output() {
  setup
  earthfile <<'EOF2'
VERSION --raw-output 0.8
FROM busybox
t:
  RUN --raw-output echo raw-line-1 && echo raw-line-2 >&2
  RUN echo decorated-line
EOF2
  earth_ok +t # plain printer: stderr is a file
  grep -qx 'raw-line-1' "$T/log" || fail "the raw line is not printed as-is"
  grep -qx 'raw-line-2' "$T/log" || fail "the raw stderr line is not printed as-is"
  grep -qE '^ +\+t \| decorated-line$' "$T/log" || fail "a RUN without --raw-output lost its prefix"
  grep -q '| raw-line' "$T/log" && fail "a raw line has the target prefix"
  # JSON: the event says so.
  "$earth" --no-cache --progress json +t >"$T/log" 2>&1 || fail "earth --progress json"
  grep -F '"event":"step_output"' "$T/log" | grep -F '"text":"raw-line-1"' | grep -qF '"raw":true' ||
    fail "the json step_output of a raw line lacks \"raw\":true"
  grep -F '"text":"decorated-line"' "$T/log" | grep -qF '"raw"' &&
    fail "a decorated line is marked raw"
  # LOCALLY RUN --raw-output too.
  earthfile <<'EOF2'
VERSION 0.8
t:
  LOCALLY
  RUN --raw-output echo host-raw
EOF2
  earth_ok +t
  grep -qx 'host-raw' "$T/log" || fail "LOCALLY RUN --raw-output kept its prefix"
}

# ---------------------------------------------------------------- --ssh-auth-sock

test_ssh_auth_sock() {
  setup
  trap stop_agents EXIT
  make_agentq
  start_agent env-agent
  start_agent flag-agent
  SSH_AUTH_SOCK=
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  COPY agentq /agentq
  RUN --ssh /agentq | sed -n 2p >/who
  RUN --mount type=ssh /agentq | sed -n 2p >>/who
  SAVE ARTIFACT /who AS LOCAL out/who
EOF2
  export SSH_AUTH_SOCK=$T/agent-env-agent.sock
  earth_ok +t
  eq "$(tr '\n' ' ' <out/who)" "env-agent env-agent " "SSH_AUTH_SOCK's agent"
  # The flag beats SSH_AUTH_SOCK (the agent is not keyed: --no-cache).
  earth_ok --no-cache --ssh-auth-sock "$T/agent-flag-agent.sock" +t
  eq "$(tr '\n' ' ' <out/who)" "flag-agent flag-agent " "--ssh-auth-sock's agent"
  earth_ok --ssh-auth-sock="$T/agent-env-agent.sock" --no-cache +t
  eq "$(tr '\n' ' ' <out/who)" "env-agent env-agent " "--ssh-auth-sock=PATH"
  # Its env equivalent too, and without SSH_AUTH_SOCK.
  EARTHLY_SSH_AUTH_SOCK=$T/agent-flag-agent.sock earth_ok --no-cache +t
  eq "$(tr '\n' ' ' <out/who)" "flag-agent flag-agent " "EARTHLY_SSH_AUTH_SOCK's agent"
  unset SSH_AUTH_SOCK
  EARTH_SSH_AUTH_SOCK=$T/agent-env-agent.sock earth_ok --no-cache +t
  eq "$(tr '\n' ' ' <out/who)" "env-agent env-agent " "EARTH_SSH_AUTH_SOCK's agent"
  # A flag naming no socket is the located error.
  earth_fails --no-cache --ssh-auth-sock "$T/nowhere" +t
  log_has "Earthfile:5:3" "$T/nowhere is not a socket"
}

# ---------------------------------------------------------------- --aws
aws_earthfile() {
  earthfile <<'EOF2'
VERSION --run-with-aws 0.8
FROM busybox
t:
  RUN --aws echo "id=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY region=$AWS_REGION" && \
    mkdir /res && env | grep ^AWS_ | sort >/res/env && \
    (cat /root/.aws/credentials /root/.aws/config 2>/dev/null || true) | tee /res/files
  RUN echo "plain=${AWS_SECRET_ACCESS_KEY:-none}" && test ! -e /root/.aws/credentials
  SAVE ARTIFACT /res/* AS LOCAL out/
EOF2
}

unset_aws() {
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION \
    AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
}

test_aws_from_env() {
  setup
  unset_aws
  export HOME=$T/empty-home
  mkdir -p "$HOME"
  aws_earthfile
  export AWS_ACCESS_KEY_ID=AKIAFAKEKEY0001 AWS_SECRET_ACCESS_KEY=fake/Secret+Value42 \
    AWS_SESSION_TOKEN=fakeSessionToken77 AWS_REGION=eu-west-3 AWS_PROFILE=dev
  earth_ok +t
  log_has "id=*** secret=*** region=eu-west-3" "plain=none"
  log_lacks "AKIAFAKEKEY0001"
  log_lacks "fake/Secret+Value42"
  log_lacks "fakeSessionToken77"
  file_is out/env "AWS_ACCESS_KEY_ID=AKIAFAKEKEY0001
AWS_PROFILE=dev
AWS_REGION=eu-west-3
AWS_SECRET_ACCESS_KEY=fake/Secret+Value42
AWS_SESSION_TOKEN=fakeSessionToken77"
  file_is out/files ""
  # Never keyed: other credentials reuse the step (as a secret's value).
  export AWS_SECRET_ACCESS_KEY=another/Secret99
  earth_ok +t
  log_has "0 steps run"
  # No credentials at all: a located error, even for a cached step (so the
  # target is never reused whole, nor the request answered by its journal).
  unset_aws
  earth_fails +t
  log_has "Earthfile:4:3" "RUN --aws: no AWS credentials here"
  # --oidc stays refused, located.
  earthfile <<'EOF2'
VERSION --run-with-aws-oidc 0.8
FROM busybox
t:
  RUN --oidc sts-role=arn:aws:iam::1:role/x echo hi
EOF2
  earth_fails +t
  log_has "Earthfile:4:3" "RUN --oidc is not supported"
}

test_aws_from_files() {
  setup
  unset_aws
  export HOME=$T/home
  mkdir -p "$HOME/.aws"
  printf '[default]\naws_access_key_id = AKIAFILEKEY0002\naws_secret_access_key = fileSecret/Value+8\n' \
    >"$HOME/.aws/credentials"
  printf '[default]\nregion = ap-south-1\n' >"$HOME/.aws/config"
  aws_earthfile
  earth_ok +t
  log_has "aws_access_key_id = ***" "aws_secret_access_key = ***" "region = ap-south-1"
  log_lacks "fileSecret/Value+8"
  file_is out/files "[default]
aws_access_key_id = AKIAFILEKEY0002
aws_secret_access_key = fileSecret/Value+8
[default]
region = ap-south-1"
  # AWS_SHARED_CREDENTIALS_FILE names another file.
  printf '[default]\naws_secret_access_key = otherFileSecret9\n' >"$T/creds"
  AWS_SHARED_CREDENTIALS_FILE=$T/creds earth_ok --no-cache +t
  grep -qx "aws_secret_access_key = otherFileSecret9" out/files || fail "AWS_SHARED_CREDENTIALS_FILE not read"
  log_lacks "otherFileSecret9"
}

# ---------------------------------------------------------------- --interactive
interactive_earthfile() {
  earthfile <<'EOF2'
VERSION 0.8
FROM busybox
t:
  RUN --interactive-keep read line && echo "got:$line" >/got && echo "step-saw:$line"
  RUN --interactive read l && echo "dropped:$l" >/dropped && echo "second-saw:$l"
  RUN cat /got && test ! -e /dropped && echo no-dropped
  SAVE ARTIFACT /got AS LOCAL out/got
EOF2
}

test_interactive_without_terminal() {
  setup
  interactive_earthfile
  earth_fails +t </dev/null
  log_has "Earthfile:4:3" "RUN --interactive-keep needs a terminal: earth's stdin is not one"
  sed -i 4d Earthfile
  earth_fails +t </dev/null
  log_has "Earthfile:4:3" "RUN --interactive needs a terminal"
}

tmux_cleanup() {
  local s=$?
  tmux -L "$sock" kill-server 2>/dev/null || true
  (exit "$s")
  cleanup_scratch
}

# wait_log TEXT: waits (10s at most) until $T/run.log has TEXT.
wait_log() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "$1" "$T/run.log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no '$1' in the output: $(cat "$T/run.log" 2>/dev/null)"
}

# earth in a tmux pane: its stdin is a terminal; its output (plain) goes
# to $T/run.log; lines typed into the pane reach the interactive steps.
test_interactive_terminal() {
  setup
  command -v tmux >/dev/null || skip "no tmux (scripts/deps.sh --test installs it)"
  interactive_earthfile
  sock=earth-e2e-$$
  tmux_() { tmux -L "$sock" "$@"; }
  trap tmux_cleanup EXIT
  run_in_pane() {
    tmux_ -u new-session -d -x 100 -y 30 \
      "cd '$P' && EARTH_CACHE_DIR='$EARTH_CACHE_DIR' '$earth' $* >'$T/run.log' 2>&1; echo EXIT=\$? >>'$T/run.log'; sleep 60"
  }
  run_in_pane +t
  wait_log "--> RUN --interactive-keep"
  tmux_ send-keys -t 0 "typed-first" Enter
  wait_log "--> RUN --interactive read"
  tmux_ send-keys -t 0 "typed-second" Enter
  wait_log "EXIT="
  grep -qx "EXIT=0" "$T/run.log" || fail "earth failed: $(cat "$T/run.log")"
  cp "$T/run.log" "$T/log"
  # The steps' output as printed (raw), and the kept step's change only.
  log_has "step-saw:typed-first" "second-saw:typed-second" "no-dropped"
  grep -qx "step-saw:typed-first" "$T/log" || fail "the interactive step's output is prefixed"
  file_is out/got "got:typed-first"
  # Never cached: the next build asks again.
  tmux_ kill-server
  rm -f "$T/run.log"
  run_in_pane +t
  wait_log "--> RUN --interactive-keep"
  tmux_ send-keys -t 0 "typed-again" Enter
  wait_log "--> RUN --interactive read"
  tmux_ send-keys -t 0 "x" Enter
  wait_log "EXIT="
  grep -qx "EXIT=0" "$T/run.log" || fail "earth failed again: $(cat "$T/run.log")"
  file_is out/got "got:typed-again"
  # --strict refuses it (it cannot be repeated).
  earth_fails --strict +t
  log_has "Earthfile:4:3" "RUN --interactive-keep cannot be used with --strict"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: runflags_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "runflags_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
