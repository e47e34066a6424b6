#!/usr/bin/env bash
# Builds each example under examples/ with `earth +all` in a temporary copy and
# checks that its outputs exist: the AS LOCAL files and the saved images.
#
# Usage: EARTH=build/earth tests/e2e/examples.sh [--keep] [EXAMPLE...]
#   EXAMPLE   names under examples/ (default: all of them, fastest first)
#   --keep    keep the temporary copies (their paths are printed)
#   --private-store  build in a new store (EARTH_CACHE_DIR) under the temporary
#             dir, with the base images imported from scripts/base-images.sh's
#             archives ($EARTH_BASE_IMAGES_DIR); ctest runs it so
# Needs root (the sandbox) and the base images in earth's store
# (scripts/base-images.sh; EARTH_CACHE_DIR selects the store). An example whose
# base image is missing is skipped with a message, not failed. The Debian-based
# examples also need network: apt-get and npm reach Debian's archive and the
# npm registry from inside the sandbox.
# Exits 77 (ctest: skipped) when every example named was skipped.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
earth=${EARTH:-$root/build/earth}
[[ $earth == /* ]] || earth=$PWD/$earth
[[ -x $earth ]] || { echo "examples.sh: no earth binary at $earth (set EARTH)" >&2; exit 2; }

keep=false private=false
names=()
for a in "$@"; do
  case $a in
    --keep) keep=true ;;
    --private-store) private=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "examples.sh: unknown flag $a" >&2; exit 2 ;;
    *) names+=("$a") ;;
  esac
done
((${#names[@]})) || names=(hello monorepo cpp-lib go-service node-nginx)

# The base images each example's Earthfiles start FROM.
declare -A needs=(
  [hello]="busybox:latest"
  [monorepo]="busybox:latest"
  [cpp-lib]="debian:bookworm-slim"
  [go-service]="debian:bookworm-slim busybox:latest"
  [node-nginx]="debian:bookworm-slim"
)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earth-examples.XXXXXX")
cleanup() { if $keep; then echo "kept: $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

if $private; then
  export EARTH_CACHE_DIR=$tmp/store
  archives=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}
  for img in busybox:latest=busybox.oci.tar debian:bookworm-slim=debian-bookworm-slim.oci.tar; do
    [[ -s $archives/${img#*=} ]] || continue
    "$earth" image import "$archives/${img#*=}" "${img%%=*}" >/dev/null
  done
fi
store_images=$("$earth" image ls | awk 'NR > 1 { print $1 }')
has_image() {
  grep -qxF -e "$1" -e "docker.io/library/$1" <<<"$store_images"
}

failures=0 passed=0
# fail ends the example's subshell (errexit is off there: it runs under ||)
fail() { echo "  FAIL: $*"; exit 1; }
file_has() { # file_has FILE TEXT
  [[ -s $1 ]] || fail "missing output $1"
  grep -qF -- "$2" "$1" || fail "$1 does not contain '$2'"
}
image_exists() {
  "$earth" image ls | awk 'NR > 1 { print $1 }' | grep -qxF -e "$1" -e "docker.io/$1" ||
    fail "image $1 not in the store"
}

# check_<example>: the outputs of `earth +all`, run in the example's copy.
check_hello() {
  file_has out/greeting.txt "hello, world: built by earth from an Earthfile"
  image_exists earth-examples/hello:latest
  "$earth" debug run earth-examples/hello:latest | grep -qF "hello, world" ||
    fail "earth-examples/hello does not print the greeting"
  # Second run: nothing changed, so every step must be a cache hit and no
  # sandbox may start.
  "$earth" +all >second-run.log 2>&1 || fail "second earth +all failed: $(tail -5 second-run.log)"
  grep -qE ', 0 steps run, [1-9][0-9]* cached' second-run.log ||
    fail "second earth +all ran steps: $(grep 'steps run' second-run.log)"
  ! grep -qE '^[^|]*\| --> (RUN|COPY|SAVE)' second-run.log ||
    fail "second earth +all ran: $(grep -E '\| --> (RUN|COPY|SAVE)' second-run.log | head -3)"
}
check_monorepo() {
  file_has services/api/dist/www/cgi-bin/jobs.sh 'JOB_FIELDS="id payload"'
  [[ -x services/api/dist/www/cgi-bin/job ]] || fail "services/api/dist/www/cgi-bin/job is not executable"
  file_has services/api/dist/www/index.html "<title>api</title>"
  [[ -x services/worker/dist/bin/worker ]] || fail "services/worker/dist/bin/worker is not executable"
  file_has services/worker/dist/bin/jobs.sh 'JOB_FIELDS="id payload"'
  image_exists earth-examples/monorepo-api:dev
  image_exists earth-examples/monorepo-worker:dev
}
check_cpp-lib() {
  [[ -s dist/lib/libmini.a ]] || fail "missing dist/lib/libmini.a"
  [[ -s dist/include/mini/strings.h ]] || fail "missing dist/include/mini/strings.h"
}
check_go-service() {
  [[ -x dist/server ]] || fail "missing dist/server"
  image_exists earth-examples/go-service:latest
  [[ $("$earth" debug run earth-examples/go-service:latest -- -version) == dev ]] ||
    fail "earth-examples/go-service: server -version does not print dev"
}
check_node-nginx() {
  file_has dist/index.html "hello, earth"
  file_has dist/about-this-site.html "<strong>earth</strong>"
  [[ -s dist/assets/main.js && -s dist/robots.txt ]] || fail "dist/assets/main.js or dist/robots.txt missing"
  image_exists earth-examples/node-nginx:latest
  "$earth" debug run earth-examples/node-nginx:latest -- sh -c '
      test -f /usr/share/nginx/html/index.html && nginx -t 2>/dev/null \
      && ! command -v node && ! command -v npm && ! test -e /app/node_modules' >/dev/null ||
    fail "earth-examples/node-nginx: no bundle, bad nginx config, or build tooling in the image"
}

for ex in "${names[@]}"; do
  if [[ ! -f $root/examples/$ex/Earthfile ]]; then
    echo "FAIL $ex: no examples/$ex/Earthfile"; failures=$((failures + 1)); continue
  fi
  missing=()
  for img in ${needs[$ex]:-}; do has_image "$img" || missing+=("$img"); done
  if ((${#missing[@]})); then
    echo "SKIP $ex: base image ${missing[*]} not in earth's store; run scripts/base-images.sh"
    continue
  fi
  dir=$tmp/$ex
  # a clean copy: no outputs or node_modules from a build in the checkout
  (cd "$root/examples" && tar --exclude=dist --exclude=out --exclude=node_modules -cf - "$ex") | tar -C "$tmp" -xf -
  t0=$SECONDS
  ok=true
  (
    cd "$dir"
    "$earth" ls >/dev/null || fail "earth ls"
    "$earth" --dry-run +all >/dev/null || fail "earth --dry-run +all"
    "$earth" +all >build.log 2>&1 || { tail -20 build.log | sed 's/^/  | /'; fail "earth +all (whole log: rerun with --keep, then $dir/build.log)"; }
    "check_$ex"
  ) || ok=false
  if $ok; then echo "PASS $ex ($((SECONDS - t0)) s)"; passed=$((passed + 1)); else echo "FAIL $ex"; failures=$((failures + 1)); fi
done
((failures == 0)) || { echo "$failures example(s) failed"; exit 1; }
((passed > 0)) || exit 77 # all skipped
