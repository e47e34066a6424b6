#!/usr/bin/env bash
# End-to-end tests of the engine's side channels: secrets (--secret,
# --secret-file, .secret, EARTH(LY)_SECRETS; RUN --secret and --mount
# type=secret), LOCALLY, and RUN --push / SAVE IMAGE --push against a real
# docker-registry on 127.0.0.1 (with and without htpasswd auth), read back
# with skopeo. Same pattern as engine_test.sh: one function per case.
#
# Usage: EARTH=build/earth tests/e2e/side_test.sh CASE...   (--list)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

SECRET=s3cr3t-Vq7ZpX  # a value that must never show up
SECRET2=n3w-V4lue-Kp9 # the same secret, changed

# no_secret_anywhere VALUE...: neither the cache dir nor the last log hold it.
no_secret_anywhere() {
  local v
  for v in "$@"; do
    ! grep -rqF -- "$v" "$EARTH_CACHE_DIR" || fail "the cache dir holds a secret: $(grep -rlF -- "$v" "$EARTH_CACHE_DIR")"
    ! grep -qF -- "$v" "$T/log" || fail "the output holds a secret"
  done
}

# ---------------------------------------------------------------- secrets
test_secret_env_and_file() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret TOKEN=tok --mount type=secret,id=tok,target=/run/secrets/tok \
      test "$TOKEN" = "$(cat /run/secrets/tok)" && \
      echo "env=$TOKEN mode=$(stat -c %a /run/secrets/tok) len=${#TOKEN}" && \
      (mount | grep -q ' /run/secrets/tok ') && echo mounted
  RUN --secret tok echo "plain=$tok"
  RUN --mount type=secret,id=tok,target=/s,mode=0440 stat -c 'mode %a' /s
  RUN test ! -e /run/secrets/tok && test ! -e /s && echo "layer-clean"
EOF
  earth_ok --secret tok=$SECRET +t
  log_has "env=*** mode=400 len=13" "mounted" "plain=***" "mode 440" "layer-clean"
  steps_run 4
  no_secret_anywhere "$SECRET"
  # A new value reuses the cached steps (Earthly's rule) and never shows.
  earth_ok --secret tok=$SECRET2 +t
  summary_is 0 4
  no_secret_anywhere "$SECRET" "$SECRET2"
}

test_secret_file_for_another_user() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  USER nobody
  RUN --mount type=secret,id=tok,target=/tmp/tok,uid=65534,gid=65534 \
      echo "owner=$(stat -c %u:%g /tmp/tok) bytes=$(wc -c </tmp/tok)"
  RUN --mount type=secret,id=tok,target=/tmp/tok cat /tmp/tok || echo "root-only"
EOF
  earth_ok --secret tok=$SECRET +t
  log_has "owner=65534:65534 bytes=13" "root-only"
  no_secret_anywhere "$SECRET"
}

test_secret_sources() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret A=a --secret B=b --secret C=c --secret D=d --secret E=e \
      echo "A=$A B=$B C=$C D=$D E=$E" | tr '[:lower:]' '[:upper:]' | sed 's/-/_/g'
EOF
  # .secret (dotenv), EARTH_SECRETS, --secret-file, --secret id (from the
  # env var of that name), --secret id=value; later sources win.
  cat >.secret <<'EOF'
# comment
a=from-dotsecret
export b="quoted value"
c=overridden-by-env
EOF
  printf 'from-file\n' >"$T/e.txt"
  EARTH_SECRETS="c=from-earth-secrets" d=from-env-var \
    "$earth" --no-cache --secret d --secret-file e="$T/e.txt" +t >"$T/log" 2>&1 ||
    fail "earth exited with $?"
  # Redacted output: the values are proved by a case-changed echo.
  log_has "A=FROM_DOTSECRET B=QUOTED VALUE C=FROM_EARTH_SECRETS D=FROM_ENV_VAR E=FROM_FILE"
  # EARTHLY_SECRETS is the Earthly spelling; a flag beats it.
  EARTHLY_SECRETS="a=x1,b=x2,c=x3,d=x4,e=x5" "$earth" --no-cache --secret e=flag +t >"$T/log" 2>&1 ||
    fail "earth with EARTHLY_SECRETS exited with $?"
  log_has "A=X1 B=X2 C=X3 D=X4 E=FLAG"
}

# global.secret_provider: a command called with the id of a secret that was
# not given; its output is the value, redacted like any other, and a given
# secret wins over it.
test_secret_provider() {
  setup
  cat >"$T/provider.sh" <<'EOF'
#!/bin/sh
echo "$1" >>"$(dirname "$0")/asked"
[ "$1" = broken ] && exit 3
echo "provided-$1-value"
EOF
  chmod +x "$T/provider.sh"
  printf 'global:\n  secret_provider: %s\n' "$T/provider.sh" >"$T/config.yml"
  export EARTH_CONFIG=$T/config.yml
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret P=pid --secret G=gid echo "P=$P G=$G" | tr '[:lower:]' '[:upper:]'
  RUN --mount type=secret,id=pid,target=/s cat /s
bad:
  RUN --secret X=broken true
EOF
  earth_ok --no-cache --secret gid=given +t
  log_has "P=PROVIDED-PID-VALUE G=GIVEN" "***"
  log_lacks "provided-pid-value"
  eq "$(sort -u "$T/asked" | tr '\n' ' ')" "pid " "ids the provider was asked for"
  earth_fails +bad
  log_has "secret 'broken': the secret provider" "exited with status 3"
  ! grep -rq "provided-pid-value" "$EARTH_CACHE_DIR" || fail "a provided value is in the cache"
}

test_secret_missing() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN echo fine
  RUN --secret KEY=deploy_key echo "$KEY"
EOF
  earth_fails --secret other=$SECRET +t
  eq "$status" 1 "exit status"
  log_has "Earthfile:5:3" "no secret 'deploy_key'"
  no_secret_anywhere "$SECRET"
  # --secret ID with no value and no env var of that name
  earth_fails --secret deploy_key +t
  log_has "--secret deploy_key: no value given"
  # `--secret NAME=` switches a secret off: nothing is needed then
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret KEY= sh -c 'test -z "${KEY+set}" && echo unset'
EOF
  earth_ok +t
  log_has unset
}

test_secret_failing_step_is_redacted() {
  setup
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
t:
  RUN --secret PW=pw sh -c 'echo "trying with $PW"; echo "stderr $PW" >&2; exit 4'
EOF
  earth_fails --secret pw=$SECRET +t
  log_has "trying with ***" "stderr ***" "exited with status 4" "Earthfile:4:3"
  no_secret_anywhere "$SECRET"
}

# ---------------------------------------------------------------- LOCALLY
test_locally_writes_into_the_project() {
  setup
  mkdir -p sub
  earthfile <<'EOF'
VERSION 0.8
FROM busybox

made:
  FROM busybox
  RUN echo from-sandbox >/made.txt
  SAVE ARTIFACT /made.txt

host:
  LOCALLY
  ARG GREETING=hi
  RUN echo "$GREETING $(pwd) $SIDE_E2E_VAR" >> host.txt
  RUN --secret S=s echo "secret-len=${#S}" >> host.txt
  COPY +made/made.txt sub/
  SAVE ARTIFACT host.txt

use:
  FROM busybox
  COPY +host/host.txt /host.txt
  RUN cat /host.txt
EOF
  SIDE_E2E_VAR=host-env earth_ok --secret s=$SECRET +use --GREETING=hello
  file_is host.txt "hello $P host-env
secret-len=13"
  file_is sub/made.txt from-sandbox
  log_has "hello $P host-env"
  no_secret_anywhere "$SECRET"
  # Never cached: the host steps run again (and append again).
  SIDE_E2E_VAR=host-env earth_ok --secret s=$SECRET +use --GREETING=hello
  eq "$(grep -c hello host.txt)" 2 "LOCALLY RUNs after a second build"
  log_lacks '*cached* RUN echo "$GREETING' "*cached* COPY +made"
}

test_locally_refused_under_strict_and_ci() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  LOCALLY
  RUN touch ran.txt
EOF
  earth_fails --strict +t
  log_has "Earthfile:3:3" "LOCALLY is not allowed with --strict or --ci"
  earth_fails --ci +t
  log_has "Earthfile:3:3"
  no_file ran.txt
  earth_ok +t
  [[ -f ran.txt ]] || fail "LOCALLY did not run without --strict"
}

test_locally_refuses_cache_and_host() {
  setup
  earthfile <<'EOF'
VERSION 0.8
t:
  LOCALLY
  CACHE /x
EOF
  earth_fails +t
  log_has "Earthfile:4:3" "CACHE cannot be used after LOCALLY"
  earthfile <<'EOF'
VERSION 0.8
t:
  LOCALLY
  RUN echo x > x.txt
  SAVE ARTIFACT x.txt AS LOCAL y.txt
EOF
  earth_fails +t
  log_has "Earthfile:5:3" "AS LOCAL cannot be used after LOCALLY"
}

# ---------------------------------------------------------------- push
push_earthfile() {
  earthfile <<EOF
VERSION 0.8
FROM busybox

app:
  RUN echo "app v1" >/app.txt
  SAVE IMAGE --push $REG/side/app:1 $REG/side/app:latest

deploy:
  LOCALLY
  RUN echo build-step >> order.txt
  RUN --push echo "deploy \$(date +%N)" >> order.txt

all:
  BUILD +app
  BUILD +deploy
  BUILD +late

late:
  RUN echo late
  RUN sleep 0.3 && echo late-done
EOF
}

test_push_needs_the_push_flag() {
  setup
  REG=127.0.0.1:1 # never contacted
  push_earthfile
  earth_ok +all
  log_has "did not push: SAVE IMAGE --push $REG/side/app:1 $REG/side/app:latest (use earth --push)"
  log_has "did not run: RUN --push echo" "(use earth --push)"
  file_is order.txt build-step
  # The image is still saved locally, as Earthly loads it into docker.
  "$earth" image ls >"$T/images" 2>&1
  grep -qF "$REG/side/app:1" "$T/images" || fail "the image was not saved locally: $(cat "$T/images")"
}

test_push_to_a_local_registry() {
  setup
  start_registry
  push_earthfile
  earth_ok --push +all
  summary_has pushed +app "$REG/side/app:1"
  summary_has pushed +app "$REG/side/app:latest"
  # RUN --push ran after every other step: the last step of +late.
  eq "$(sed -n 1p order.txt)" build-step "first line of order.txt"
  grep -q '^deploy ' order.txt || fail "RUN --push did not run: $(cat order.txt)"
  local done_line push_line
  done_line=$(grep -n 'late-done' "$T/log" | head -1 | cut -d: -f1)
  push_line=$(grep -n -- '--> RUN --push' "$T/log" | head -1 | cut -d: -f1)
  ((push_line > done_line)) || fail "RUN --push (line $push_line) ran before +late finished (line $done_line)"
  skopeo inspect --tls-verify=false "docker://$REG/side/app:1" >"$T/inspect" ||
    fail "skopeo inspect failed"
  grep -q '"dev.earthly.built-by": "earth"' "$T/inspect" || fail "no earth label: $(cat "$T/inspect")"
  local digest
  digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/side/app:latest")
  eq "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/side/app:1")" "$digest" "digest of both tags"
  # The pushed image holds the build's file.
  skopeo copy -q --src-tls-verify=false "docker://$REG/side/app:1" "oci-archive:$T/app.tar" ||
    fail "skopeo copy failed"
  "$earth" image import "$T/app.tar" pulled:1 >/dev/null
  # Pushes are never cached: a second --push runs RUN --push again.
  earth_ok --push +all
  eq "$(grep -c '^deploy ' order.txt)" 2 "RUN --push runs after a second build"
}

test_push_with_auth() {
  setup
  start_registry earth pushpw
  push_earthfile
  export DOCKER_CONFIG=$T/docker
  mkdir -p "$DOCKER_CONFIG"
  earth_fails --push +app
  log_has "needs credentials"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf earth:pushpw | base64)" >"$DOCKER_CONFIG/config.json"
  earth_ok --push +app
  summary_has pushed +app "$REG/side/app:1"
  skopeo inspect --tls-verify=false --creds earth:pushpw "docker://$REG/side/app:1" >/dev/null ||
    fail "skopeo inspect with credentials failed"
  ! timeout 20 skopeo inspect --tls-verify=false --no-creds "docker://$REG/side/app:1" </dev/null >"$T/noauth" 2>&1 ||
    fail "the registry answered without credentials"
}

test_push_not_after_a_failure() {
  setup
  REG=127.0.0.1:1 # a push would fail to connect
  earthfile <<EOF
VERSION 0.8
FROM busybox
all:
  BUILD +deploy
  BUILD +broken
deploy:
  LOCALLY
  RUN --push touch pushed.txt
broken:
  RUN sleep 0.3 && false
EOF
  earth_fails --push +all
  log_has "exited with status 1"
  no_file pushed.txt
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: side_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "side_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
