# shellcheck shell=bash
# Helpers for the end-to-end tests (sourced by engine_test.sh): each test
# case gets a scratch directory, a private earth cache with busybox:latest
# imported, and assertions that print what they saw when they fail.
#
# Env: EARTH (the earth binary), EARTH_BASE_IMAGES_DIR (where
# scripts/base-images.sh keeps busybox.oci.tar; the e2e.setup test makes it).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
earth=${EARTH:-$root/build/earth}
images_dir=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}

# ctest reads this exit status as "skipped" (SKIP_RETURN_CODE).
readonly SKIP=77

skip() {
  echo "SKIP: $*"
  exit $SKIP
}

fail() {
  echo "FAIL: $*" >&2
  if [[ -s ${T:-/nonexistent}/log ]]; then
    echo "--- last earth output ($T/log):" >&2
    tail -40 "$T/log" | sed 's/^/  | /' >&2
  fi
  exit 1
}

# setup: a scratch dir $T (removed at exit), its project dir $P (the cwd),
# and a private store in $EARTH_CACHE_DIR holding busybox:latest.
setup() {
  [[ -x $earth ]] || skip "no earth binary at $earth (set EARTH)"
  [[ $(id -u) == 0 ]] || skip "the sandbox tests need root"
  [[ -s $images_dir/busybox.oci.tar ]] ||
    skip "no $images_dir/busybox.oci.tar: run scripts/base-images.sh --busybox-only"
  T=$(mktemp -d "${TMPDIR:-/tmp}/earth-e2e.XXXXXX")
  trap 'cleanup_scratch' EXIT
  export EARTH_CACHE_DIR=$T/cache
  P=$T/project
  mkdir -p "$P"
  cd "$P" || exit 1
  "$earth" image import "$images_dir/busybox.oci.tar" busybox:latest >/dev/null ||
    fail "earth image import busybox"
}

cleanup_scratch() {
  local status=$?
  if [[ -n ${KEEP:-} ]]; then
    echo "kept: $T"
    exit $status
  fi
  # a sandbox left behind must not keep a mount on our scratch dir
  grep -F " $T/" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$T"
  exit $status
}

# earth_ok ARGS...: runs earth in the cwd, output in $T/log; fails on error.
earth_ok() {
  "$earth" "$@" >"$T/log" 2>&1 || fail "earth $* exited with $?"
}

# earth_fails ARGS...: runs earth, expects a non-zero exit; $status holds it.
earth_fails() {
  status=0
  "$earth" "$@" >"$T/log" 2>&1 || status=$?
  ((status != 0)) || fail "earth $* succeeded, expected a failure"
}

log_has() { # log_has TEXT...: every TEXT is a line fragment of the last log
  local s
  for s in "$@"; do grep -qF -- "$s" "$T/log" || fail "the output lacks '$s'"; done
}

# summary_has KIND TARGET WHAT: the build summary lists an output, e.g.
# summary_has pushed +app reg/app:1 ("  pushed    +app  reg/app:1").
summary_has() {
  awk -v k="$1" -v t="$2" -v w="$3" '$1 == k && $2 == t && $3 == w { found = 1 }
    END { exit !found }' "$T/log" || fail "the summary lacks '$1 $2 $3'"
}

log_lacks() {
  local s
  for s in "$@"; do ! grep -qF -- "$s" "$T/log" || fail "the output has '$s'"; done
}

# summary_is RUN CACHED: the counts of the build summary line
summary_is() {
  log_has ", $1 steps run, $2 cached"
}

# steps_run N: the summary says N steps ran
steps_run() {
  grep -qE ", $1 steps run, [0-9]+ cached" "$T/log" ||
    fail "expected $1 steps run, summary: $(grep -E 'steps run' "$T/log")"
}

eq() { # eq ACTUAL EXPECTED WHAT
  [[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

file_is() { # file_is PATH CONTENT
  [[ -f $1 ]] || fail "missing file $1"
  eq "$(cat "$1")" "$2" "content of $1"
}

no_file() {
  [[ ! -e $1 && ! -L $1 ]] || fail "$1 should not exist"
}

# hashed: "N hashed, M from the stat cache" from the last --profile log.
hashed() {
  grep -oE 'files: [0-9]+ hashed, [0-9]+ from the stat cache' "$T/log" | sed 's/files: //'
}

# Makes `path` older than the stat cache's racy window (git's racy rule).
age() {
  touch -d '-10 seconds' "$@"
}

# Earthfile: writes ./Earthfile from stdin.
earthfile() {
  cat >Earthfile
}

# ---------------------------------------------------------------- registry
# The EXIT trap of a case with a registry: stops it, then cleans up as
# lib.sh does, keeping the case's exit status.
stop_registry() {
  local st=$?
  set +e
  kill "$REG_PID" 2>/dev/null
  wait "$REG_PID" 2>/dev/null
  (exit $st)
  cleanup_scratch
}

# start_registry [USER PASS]: a docker-registry on 127.0.0.1; sets REG.
start_registry() {
  command -v docker-registry >/dev/null || skip "no docker-registry (scripts/deps.sh installs it)"
  command -v skopeo >/dev/null || skip "no skopeo (scripts/deps.sh installs it)"
  local dir=$T/registry port try
  mkdir -p "$dir"
  for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    { cat <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
EOF
    } >"$dir/config.yml"
    if (($# == 2)); then
      command -v htpasswd >/dev/null || skip "no htpasswd (apache2-utils)"
      htpasswd -Bbn "$1" "$2" >"$dir/htpasswd"
      printf 'auth:\n  htpasswd:\n    realm: earth-e2e\n    path: %s\n' "$dir/htpasswd" >>"$dir/config.yml"
    fi
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    REG_PID=$!
    trap stop_registry EXIT
    local i
    for i in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        REG=127.0.0.1:$port
        return 0
      fi
      kill -0 $REG_PID 2>/dev/null || break
      sleep 0.1
    done
    kill $REG_PID 2>/dev/null || true
  done
  fail "docker-registry did not start: $(cat "$dir/log")"
}

# ---------------------------------------------------------------- ssh agents
# make_agentq: ./agentq, a static client of the SSH agent protocol
# (tests/e2e/agentq.c: prints "identities N" and each key's comment), to
# run inside busybox.
make_agentq() {
  command -v ssh-agent >/dev/null || skip "no ssh-agent (openssh-client)"
  command -v gcc >/dev/null || skip "no gcc"
  gcc -static -O -o agentq "$(dirname "${BASH_SOURCE[0]}")/agentq.c" 2>"$T/gcc.log" ||
    skip "no static gcc: $(head -3 "$T/gcc.log")"
}

# start_agent COMMENT: an ssh-agent at $T/agent-COMMENT.sock holding a new
# key named COMMENT; SSH_AUTH_SOCK names it afterwards.
start_agent() {
  eval "$(ssh-agent -s -a "$T/agent-$1.sock")" >/dev/null
  AGENT_PIDS+=" $SSH_AGENT_PID"
  ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$T/key-$1"
  ssh-add -q "$T/key-$1" 2>/dev/null
}

# stop_agents: an EXIT trap that stops every agent started, then cleans up.
stop_agents() {
  local st=$? p
  for p in ${AGENT_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  (exit $st)
  cleanup_scratch
}
