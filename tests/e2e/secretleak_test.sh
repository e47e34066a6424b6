#!/usr/bin/env bash
# End-to-end tests that no secret value, and no value derived from one,
# reaches the cache directory or anything earth prints (docs/language.md
# "Secrets"): every way a secret flows (RUN --secret, --mount type=secret,
# IF/FOR --secret shell-outs, ARG/LET from a derived value, a failing step,
# a target built at run time) is built, rebuilt from the cache, explained
# (--explain), keyed (debug keys) and streamed (--progress=json); then the
# whole $EARTH_CACHE_DIR (binary files included) and every captured output
# are grepped for the value. Plus: a changed secret value reruns nothing.
#
# Usage: EARTH=build/earth tests/e2e/secretleak_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# A distinctive value per run, and what the Earthfiles derive from it
# (rot13, as `tr` in busybox computes it).
SECRET=Sx$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 18)q7
SECRET2=Sy$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 18)k4
rot13() { tr 'A-Za-z' 'N-ZA-Mn-za-m' <<<"$1"; }

# run OK|FAIL ARGS...: earth_ok / earth_fails, every output kept in $T/all.
run() {
  local want=$1
  shift
  if [[ $want == OK ]]; then earth_ok "$@"; else earth_fails "$@"; fi
  cat "$T/log" >>"$T/all"
}

# no_leak VALUE...: neither any file under the cache dir (binary files
# included) nor any output captured so far holds a VALUE.
no_leak() {
  local v
  for v in "$@"; do
    if grep -r -a -l -F -- "$v" "$EARTH_CACHE_DIR" >"$T/hits"; then
      fail "the cache dir holds '$v': $(tr '\n' ' ' <"$T/hits")"
    fi
    if grep -a -n -F -- "$v" "$T/all" >"$T/hits"; then
      fail "the output holds '$v': $(head -3 "$T/hits")"
    fi
  done
}

all_has() { # all_has TEXT...: every output captured so far has each TEXT
  local v
  for v in "$@"; do grep -qF -- "$v" "$T/all" || fail "no output has '$v'"; done
}

# every_view ARGS...: a build, then --explain, debug keys, --progress=json
# and a plain rebuild of the same request.
every_view() {
  run OK "$@"
  run OK --explain "$@"
  run OK debug keys "$@"
  run OK --progress=json "$@"
  run OK "$@"
}

# ---------------------------------------------------------------- cases
test_run_env_and_mount() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret TOKEN=tok echo "env $TOKEN" && echo "err $TOKEN" >&2
  RUN --mount type=secret,id=tok,target=/run/tok echo "file $(cat /run/tok)"
EOF
  every_view --secret tok="$SECRET" +t
  all_has "env ***" "err ***" "file ***"
  no_leak "$SECRET"
}

# An IF condition's stdout is never kept (only its exit status decides).
test_if_condition() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  IF --secret tok echo "cond $tok" && echo "cond-err $tok" >&2 && [ -n "$tok" ]
    RUN echo took-the-branch
  END
EOF
  every_view --secret tok="$SECRET" +t
  all_has took-the-branch
  no_leak "$SECRET"
}

# FOR --secret over a shell-out that prints the secret: the items are the
# secret, in a RUN's environment and in every later key.
test_for_shellout() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  FOR --secret tok x IN $(echo "$tok")
    RUN echo "item $x"
  END
EOF
  every_view --secret tok="$SECRET" +t
  all_has "item ***"
  no_leak "$SECRET"
}

# A value derived from a secret (rot13 of it, which the shell-out prints to
# its stderr too) flows into an ARG from a shell-out reading it (which gives the secret back), a LET, and a RUN's
# environment; a later run with another value is explained.
test_derived_arg() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  FOR --secret tok x IN $(echo "$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m' | tee /dev/stderr)
    ARG back=$(echo "$x" | tr 'A-Za-z' 'N-ZA-Mn-za-m')
    LET z = "pre-$x"
    RUN echo "x=$x back=$back z=$z"
  END
EOF
  every_view --secret tok="$SECRET" +t
  all_has "x=*** back=*** z=pre-***"
  run OK --explain --secret tok="$SECRET2" +t
  log_has "variable x changed"
  no_leak "$SECRET" "$(rot13 "$SECRET")" "$SECRET2" "$(rot13 "$SECRET2")"
}

# A part of a derived value cut out with ${x#…} is derived too.
test_part_of_derived_value() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  FOR --secret tok x IN $(echo "AAAA$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m')
    LET p = ${x#NNNN}
    RUN echo "part=$p"
  END
EOF
  every_view --secret tok="$SECRET" +t
  all_has "part=***"
  no_leak "$SECRET" "$(rot13 "$SECRET")"
}

# After LOCALLY the shell-out runs on the host: never stored either, and
# its value is redacted the same way.
test_locally() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  LOCALLY
  FOR --secret tok x IN $(echo "$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m' | tee /dev/stderr)
    RUN echo "local $x" && echo "local $x" >local.txt
  END
EOF
  every_view --secret tok="$SECRET" +t
  all_has "local ***"
  file_is local.txt "local $(rot13 "$SECRET")" # the host file is the user's
  rm local.txt
  no_leak "$SECRET" "$(rot13 "$SECRET")"
}

# A failing step: its output, its error message (a path made of a derived
# value), the failure report and the JSON stream.
test_failing_steps() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
out:
  FOR --secret tok x IN $(echo "$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m')
    RUN --secret tok echo "out $tok $x" && exit 3
  END
path:
  FOR --secret tok x IN $(echo "$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m')
    COPY "./missing-$x" /
  END
EOF
  for target in +out +path; do
    run FAIL --secret tok="$SECRET" $target
    run FAIL --secret tok="$SECRET" --progress=json $target
    run FAIL --secret tok="$SECRET" --explain $target
  done
  all_has "out *** ***" "exited with status 3" "missing-***"
  no_leak "$SECRET" "$(rot13 "$SECRET")"
}

# A target built at run time with a derived value as its build arg: its
# own walk (nested build) redacts and records the same way.
test_nested_build() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  FOR --secret tok x IN $(echo "$tok" | tr 'A-Za-z' 'N-ZA-Mn-za-m')
    BUILD +other --v=$x
  END
other:
  ARG v
  ENV V=$v
  RUN echo "v=$v"
EOF
  every_view --secret tok="$SECRET" +t
  all_has "v=***"
  no_leak "$SECRET" "$(rot13 "$SECRET")"
}

# Secrets given through the environment (EARTH_SECRETS, EARTHLY_SECRETS) to
# a build that uses none: the request journal that answers the no-op
# builds keys the ids only, never the values.
test_env_secrets_and_journal() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN echo plain > /plain
EOF
  local i
  for i in 1 2 3 4; do
    EARTH_SECRETS="tok=$SECRET" EARTHLY_SECRETS="tok2=$SECRET2" run OK +t
  done
  ls "$EARTH_CACHE_DIR/journals" | grep -q . || fail "no request journal was written"
  EARTH_SECRETS="tok=$SECRET" EARTHLY_SECRETS="tok2=$SECRET2" run OK --profile +t
  log_has "journal: hit"
  no_leak "$SECRET" "$SECRET2"
}

# Earthly's rule: a new secret value reruns no step that uses the secret
# (RUN --secret, a secret mount, an IF --secret condition).
test_changed_value_reruns_nothing() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret tok echo "env $tok"
  RUN --mount type=secret,id=tok,target=/run/tok cat /run/tok
  IF --secret tok [ -n "$tok" ]
    RUN echo branch
  END
EOF
  run OK --secret tok="$SECRET" +t
  steps_run 4
  run OK --secret tok="$SECRET2" +t
  steps_run 0
  no_leak "$SECRET" "$SECRET2"
}

# A FOR --secret shell-out runs on every build (its value is never stored);
# the steps that see its value are reused while the value is the same.
test_secret_shellout_reruns_alone() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  FOR --secret tok x IN $(test -n "$tok" && echo Fixed-Item-9)
    RUN echo "item $x"
  END
EOF
  run OK --secret tok="$SECRET" +t
  steps_run 2
  run OK --secret tok="$SECRET2" +t
  steps_run 1
  log_has "*cached* --> RUN echo"
  no_leak "$SECRET" "$SECRET2"
  # The value is secret-derived: shown as *** (the Earthfile's text is not).
  all_has "item ***"
  ! grep -r -a -q -F Fixed-Item-9 "$EARTH_CACHE_DIR" || fail "the cache dir holds the derived value"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: secretleak_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "secretleak_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
