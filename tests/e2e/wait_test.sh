#!/usr/bin/env bash
# End-to-end tests of WAIT … END as Earthly runs it (the BUILDs, SAVE IMAGE,
# AS LOCAL and, with --push, the pushes inside are done by its END, before
# the commands after it), of pushes in targets reached only at build time,
# and of SSH agent forwarding (RUN --ssh, --mount type=ssh, IF/FOR --ssh)
# with a real ssh-agent. Pushes go to a docker-registry on 127.0.0.1, read
# back with skopeo (lib.sh: start_registry). One function per case.
#
# Usage: EARTH=build/earth tests/e2e/wait_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- WAIT
# SAVE IMAGE and AS LOCAL inside WAIT, the BUILD's included, are in the
# local store and on the host when the step after END runs.
test_wait_outputs_before_next_step() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
w:
  WAIT
    BUILD +built
    RUN echo own >/own
    SAVE IMAGE wait/own:1
  END
  LOCALLY
  ARG EARTH_BIN
  RUN "$EARTH_BIN" image ls >images.txt && cat out/built >seen.txt
built:
  RUN echo built >/built
  SAVE ARTIFACT /built AS LOCAL out/built
  SAVE IMAGE wait/built:1
EOF
  earth_ok +w --EARTH_BIN="$earth"
  grep -qF wait/own:1 images.txt || fail "SAVE IMAGE in WAIT not in the store at END: $(cat images.txt)"
  grep -qF wait/built:1 images.txt || fail "the BUILD's SAVE IMAGE not in the store at END: $(cat images.txt)"
  file_is seen.txt built
  summary_has image +w wait/own:1
  summary_has image +built wait/built:1
  summary_has artifact +built "$P/out/built"
  # --no-output: nothing is written at END either.
  rm -f images.txt seen.txt out/built
  "$earth" image rm wait/own:1 wait/built:1 >/dev/null 2>&1 || true
  earth_fails --no-output +w --EARTH_BIN="$earth"
  no_file out/built
  log_has "cat: out/built: No such file or directory"
  grep -qF wait/own:1 images.txt && fail "--no-output: the image was stored: $(cat images.txt)"
  true
}

# SAVE IMAGE --push inside WAIT, a BUILD's too, is in the registry when the
# step after END runs; without --push it is not pushed (the step fails).
test_wait_push_before_next_step() {
  setup
  start_registry
  earthfile <<EOF
VERSION 0.8
FROM busybox
w:
  WAIT
    BUILD +app
    RUN echo own >/own
    SAVE IMAGE --push $REG/wait/own:1
  END
  LOCALLY
  RUN skopeo inspect --tls-verify=false docker://$REG/wait/app:1 >app.json && \\
      skopeo inspect --tls-verify=false docker://$REG/wait/own:1 >own.json
app:
  RUN echo app >/app.txt
  SAVE IMAGE --push $REG/wait/app:1
EOF
  earth_fails +w
  log_has "manifest unknown"
  ! grep -q '"Digest"' app.json || fail "pushed without --push: $(cat app.json)"
  earth_ok --push +w
  grep -q '"Digest"' app.json || fail "no digest for the BUILD's image: $(cat app.json)"
  grep -q '"Digest"' own.json || fail "no digest for the target's image: $(cat own.json)"
  summary_has pushed +app "$REG/wait/app:1"
  summary_has pushed +w "$REG/wait/own:1"
  # Pushed once, at END: not again after the build.
  eq "$(grep -c "pushed $REG/wait/own:1" "$T/log")" 1 "pushes of wait/own:1"
  # A second run pushes again (pushes are never cached) before the step.
  rm app.json own.json
  earth_ok --push +w
  [[ -s app.json && -s own.json ]] || fail "second run: the step after END did not see the pushes"
}

# RUN --push inside WAIT runs at its END, before what follows; one outside
# runs after the whole build.
test_wait_run_push_order() {
  setup
  earthfile <<'EOF'
VERSION 0.8
deploy:
  LOCALLY
  RUN echo first >>order.txt
  WAIT
    RUN --push echo push-in-wait >>order.txt
    RUN echo in-wait >>order.txt
  END
  RUN echo after-wait >>order.txt
  RUN --push echo push-at-end >>order.txt
EOF
  earth_ok +deploy
  eq "$(tr '\n' ' ' <order.txt)" "first in-wait after-wait " "order without --push"
  log_has "did not run: RUN --push echo push-in-wait" "did not run: RUN --push echo push-at-end"
  rm order.txt
  earth_ok --push +deploy
  eq "$(tr '\n' ' ' <order.txt)" "first in-wait push-in-wait after-wait push-at-end " "order with --push"
}

# A WAIT whose END fails to push fails there: what follows does not run.
test_wait_push_failure_stops() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
w:
  WAIT
    SAVE IMAGE --push 127.0.0.1:1/wait/none:1
  END
  LOCALLY
  RUN touch after.txt
EOF
  earth_fails --push +w
  log_has "pushing 127.0.0.1:1/wait/none:1"
  no_file after.txt
}

# The BUILDs inside one WAIT run at once: each target waits for a marker
# the other writes (one after the other, the first would wait in vain).
test_wait_builds_in_parallel() {
  setup
  earthfile <<'EOF'
VERSION 0.8
w:
  WAIT
    BUILD +a
    BUILD +b
  END
  LOCALLY
  RUN touch after.txt
a:
  LOCALLY
  RUN touch a.mark && i=0 && until [ -f b.mark ]; do i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done
b:
  LOCALLY
  RUN touch b.mark && i=0 && until [ -f a.mark ]; do i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done
# References known only at build time too.
dyn:
  FROM busybox
  WAIT
    BUILD +$(echo c)
    BUILD +$(echo d)
  END
c:
  LOCALLY
  RUN touch c.mark && i=0 && until [ -f d.mark ]; do i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done
d:
  LOCALLY
  RUN touch d.mark && i=0 && until [ -f c.mark ]; do i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done
EOF
  timeout 120 "$earth" -j2 +w >"$T/log" 2>&1 || fail "earth -j2 +w exited with $? (the BUILDs did not overlap)"
  [[ -f after.txt ]] || fail "the step after END did not run"
  timeout 120 "$earth" -j2 +dyn >"$T/log" 2>&1 || fail "earth -j2 +dyn exited with $? (the BUILDs did not overlap)"
}

# The first BUILD of a WAIT to fail fails it with its own error, not with
# what stopping the others does to them.
test_wait_builds_first_failure() {
  setup
  earthfile <<'EOF'
VERSION 0.8
w:
  WAIT
    BUILD +waiting
    BUILD +broken
  END
  LOCALLY
  RUN touch after.txt
waiting:
  LOCALLY
  RUN i=0 && until [ -f broken.mark ]; do i=$((i+1)); [ $i -lt 300 ] || exit 7; sleep 0.1; done
broken:
  LOCALLY
  RUN touch broken.mark && echo broken-on-purpose && exit 3
# In sandboxes: the failure stops the other BUILD's sandbox, whose error is
# not the one reported.
sandboxed:
  FROM busybox
  WAIT
    BUILD +sleeper
    BUILD +failer
  END
sleeper:
  FROM busybox
  RUN sleep 60
failer:
  FROM busybox
  RUN sleep 1 && echo failer-on-purpose && exit 4
EOF
  earth_fails -j2 +w
  log_has "broken-on-purpose"
  log_lacks "exited with status 7"
  no_file after.txt
  timeout 50 "$earth" -j3 +sandboxed >"$T/log" 2>&1 && fail "+sandboxed succeeded"
  log_has "failer-on-purpose" "the command exited with status 4"
  log_lacks "while building +sleeper"
}

# A WAIT's BUILD of a target the scheduler runs anyway (another target is
# FROM it) is waited for: its AS LOCAL and SAVE IMAGE are there for the step
# after END, written once; -j1 does not deadlock (the waiting worker gives
# its slot back), whether the target has started or not.
test_wait_build_of_scheduled_target() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
all:
  BUILD +w
  BUILD +user
user:
  FROM +dep
  RUN cat /dep
w:
  WAIT
    BUILD +dep
  END
  LOCALLY
  ARG EARTH_BIN
  RUN cat out/dep >seen.txt && "$EARTH_BIN" image ls >images.txt
slow:
  RUN sleep 1 && echo slow >/slow
dep:
  FROM +slow
  RUN echo dep >/dep
  SAVE ARTIFACT /dep AS LOCAL out/dep
  SAVE IMAGE wait/dep:1
EOF
  local j
  for j in 1 2; do
    rm -rf out seen.txt images.txt
    "$earth" image rm wait/dep:1 >/dev/null 2>&1 || true
    timeout 120 "$earth" -j$j --no-cache +all --EARTH_BIN="$earth" >"$T/log" 2>&1 ||
      fail "earth -j$j +all exited with $?: $(tail -5 "$T/log")"
    file_is seen.txt dep
    grep -qF wait/dep:1 images.txt || fail "-j$j: the BUILD's image not in the store at END: $(cat images.txt)"
    summary_has artifact +dep "$P/out/dep"
    summary_has image +dep wait/dep:1
    eq "$(grep -c "wait/dep:1" "$T/log")" 1 "-j$j: summary lines of wait/dep:1"
  done
}

# ---------------------------------------------------------------- pushes at build time
# Targets reached only through a reference known at build time (a `$( … )`)
# or through an IF push like any other under --push.
test_push_dynamic_reference() {
  setup
  start_registry
  earthfile <<EOF
VERSION 0.8
FROM busybox
all:
  ARG WHICH=\$(echo dyn)
  BUILD +\$WHICH
  IF true
    BUILD +cond
  END
dyn:
  RUN echo dyn >/dyn
  SAVE IMAGE --push $REG/wait/dyn:1
  BUILD +chained
chained:
  RUN echo chained >/chained
  SAVE IMAGE --push $REG/wait/chained:1
cond:
  RUN echo cond >/cond
  SAVE IMAGE --push $REG/wait/cond:1
EOF
  earth_ok +all
  log_has "did not push: SAVE IMAGE --push $REG/wait/dyn:1"
  log_has "did not push: SAVE IMAGE --push $REG/wait/chained:1"
  ! skopeo inspect --tls-verify=false "docker://$REG/wait/dyn:1" >/dev/null 2>&1 ||
    fail "pushed without --push"
  earth_ok --push +all
  local img
  for img in dyn chained cond; do
    skopeo inspect --tls-verify=false "docker://$REG/wait/$img:1" >"$T/inspect" 2>&1 ||
      fail "wait/$img:1 was not pushed: $(cat "$T/inspect")"
    eq "$(grep -c "pushed $REG/wait/$img:1" "$T/log")" 1 "pushes of wait/$img:1"
  done
  # Reached from a target that does not output (a FROM hop): no push.
  cat >>Earthfile <<EOF
hop:
  FROM +all
EOF
  earth_ok --push +hop
  log_lacks "pushed $REG/wait/dyn:1"
}

# ---------------------------------------------------------------- ssh

ssh_earthfile() {
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  COPY agentq /agentq
  RUN mkdir /res
  RUN --ssh echo "$SSH_AUTH_SOCK" >/res/r1 && test -S "$SSH_AUTH_SOCK" && /agentq >>/res/r1
  RUN --mount type=ssh,target=/tmp/agent.sock echo "$SSH_AUTH_SOCK" >/res/r2 && /agentq >>/res/r2
  RUN --mount=type=ssh,id=default echo "$SSH_AUTH_SOCK" >/res/r3 && /agentq >>/res/r3
  IF --ssh /agentq
    RUN echo if-saw-an-identity >/res/r4
  END
  FOR --ssh line IN $(/agentq | tail -1)
    RUN echo "for $line" >/res/r5
  END
  SAVE ARTIFACT /res/* AS LOCAL out/
EOF
}

test_ssh_agent_forwarded() {
  setup
  trap stop_agents EXIT
  make_agentq
  start_agent earth-e2e-one
  ssh_earthfile
  earth_ok +t
  eq "$(tr '\n' ' ' <out/r1)" "/run/buildkit/ssh_agent.0 identities 1 earth-e2e-one " "RUN --ssh"
  eq "$(tr '\n' ' ' <out/r2)" "/tmp/agent.sock identities 1 earth-e2e-one " "--mount type=ssh,target="
  eq "$(tr '\n' ' ' <out/r3)" "/run/buildkit/ssh_agent.0 identities 1 earth-e2e-one " "--mount=type=ssh,id=default"
  file_is out/r4 if-saw-an-identity
  file_is out/r5 "for earth-e2e-one"
  # The agent is not part of the keys (Earthly's rule): another agent with
  # another key reuses every step.
  start_agent earth-e2e-two
  earth_ok +t
  log_has "0 steps run"
  file_is out/r5 "for earth-e2e-one"
  # --no-cache runs them again with the new agent.
  earth_ok --no-cache +t
  eq "$(tr '\n' ' ' <out/r1)" "/run/buildkit/ssh_agent.0 identities 1 earth-e2e-two " "RUN --ssh, second agent"
  file_is out/r5 "for earth-e2e-two"
}

test_ssh_without_agent() {
  setup
  trap stop_agents EXIT
  make_agentq
  ssh_earthfile
  unset SSH_AUTH_SOCK
  earth_fails +t
  log_has "Earthfile:6:3" "RUN forwards the SSH agent, but no agent is running here"
  # Each form says so, at its own line.
  sed -i '6d' Earthfile
  earth_fails +t
  log_has "Earthfile:6:3" "RUN forwards the SSH agent"
  sed -i '6,7d' Earthfile
  earth_fails +t
  log_has "Earthfile:6:3" "IF forwards the SSH agent"
  sed -i '6,8d' Earthfile
  earth_fails +t
  log_has "Earthfile:6:3" "FOR forwards the SSH agent"
  export SSH_AUTH_SOCK=$T/not-a-socket
  touch "$SSH_AUTH_SOCK"
  earth_fails +t
  log_has "is not a socket"
  # Another agent id than the default one is refused.
  start_agent earth-e2e-one
  ssh_earthfile
  sed -i 's/id=default/id=github/' Earthfile
  earth_fails +t
  log_has "Earthfile:8:3" "only the default SSH agent is forwarded, not id 'github'"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: wait_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "wait_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
