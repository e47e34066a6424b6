#!/usr/bin/env bash
# End-to-end tests of the stdlib (stdlib/*/Earthfile, docs/stdlib.md): each
# function built for real on busybox. The package managers are fakes (shell
# scripts in the project, copied into the image) that log how they were
# called and what they found in their cache directories, so that a case
# proves the function's arguments, its environment and that its cache mount
# outlives the build; SSH known hosts is real.
#
# Usage: EARTH=build/earth tests/e2e/stdlib_test.sh CASE...   (KEEP=1 keeps
#        the scratch dir; --list prints the cases)
# Every case but dry_run needs the engine to run DO; until it does (helper
# "lang"'s work) they skip, saying so.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# require_do: skips the case when this earth's engine cannot run DO yet.
require_do() {
  mkdir -p "$T/probe"
  printf 'VERSION 0.8\nF:\n    FUNCTION\n    RUN true\nt:\n    FROM busybox\n    DO +F\n' \
    >"$T/probe/Earthfile"
  if ! (cd "$T/probe" && "$earth" +t >"$T/probe.log" 2>&1); then
    grep -q "DO is not supported by the engine yet" "$T/probe.log" &&
      skip "the engine does not run DO yet (helper lang adds it)"
    cat "$T/probe.log" >&2
    fail "a trivial DO does not build"
  fi
}

# fake NAME: installs tests' fake NAME (stdin) as ./fake/NAME.
fake() {
  mkdir -p fake
  cat >"fake/$1"
  chmod +x "fake/$1"
}

# The base recipe every case's Earthfile starts with: busybox plus the fakes.
BASE='VERSION 0.8
FROM busybox
COPY fake/ /usr/local/bin/
RUN chmod +x /usr/local/bin/*'

# ---------------------------------------------------------------- resolve
# Works today: every package and both spellings resolve in a dry run.
test_dry_run() {
  setup
  earthfile <<'EOF'
VERSION 0.8
IMPORT stdlib/apt
IMPORT stdlib/npm
IMPORT stdlib/pip
IMPORT stdlib/go
IMPORT stdlib/cargo
IMPORT stdlib/ssh
IMPORT github.com/earthly/lib/rust:3.0.3 AS rust
IMPORT github.com/earthly/lib/utils/ssh:3.0.3 AS essh
all:
    FROM busybox
    DO apt+INSTALL --packages=git
    DO apt+APT --pkg=git
    DO npm+INSTALL
    DO pip+INSTALL --packages=requests
    DO go+DOWNLOAD
    DO go+GO --args=version
    DO cargo+CARGO --args=build --output="release/[^/]+"
    DO rust+INIT
    DO ssh+ADD_KNOWN_HOSTS
    DO essh+ADD_KNOWN_HOSTS --target_file=/k
EOF
  earth_ok --dry-run +all
  log_has "DO stdlib/apt+INSTALL" "DO stdlib/npm+INSTALL" "DO stdlib/pip+INSTALL" \
    "DO stdlib/go+GO" "DO stdlib/cargo+CARGO" "DO stdlib/cargo+INIT" "DO stdlib/ssh+ADD_KNOWN_HOSTS"
  printf 'VERSION 0.8\nIMPORT stdlib/nope\nt:\n    FROM busybox\n    DO nope+X\n' >Earthfile
  earth_fails --dry-run +t
  log_has "unknown stdlib package 'nope'" "apt, cargo, go, npm, pip, ssh"
}

# ---------------------------------------------------------------- apt
fake_apt() {
  fake apt-get <<'EOF'
#!/bin/sh
# update marks the lists; install "downloads" a package once into the cache
set -e
case "$1" in
update)
  mkdir -p /var/lib/apt/lists
  echo updated >>/var/lib/apt/lists/marker ;;
install)
  shift
  echo "frontend=$DEBIAN_FRONTEND lists=$(cat /var/lib/apt/lists/marker | wc -l)" >>/apt.log
  for p in "$@"; do
    case "$p" in -*) echo "flag $p" >>/apt.log; continue ;; esac
    if [ -e "/var/cache/apt/archives/$p.deb" ]; then
      echo "cached $p" >>/apt.log
    else
      echo deb >"/var/cache/apt/archives/$p.deb"
      echo "downloaded $p" >>/apt.log
    fi
    mkdir -p /usr/share/fake-pkgs
    touch "/usr/share/fake-pkgs/$p"
  done ;;
esac
EOF
}

test_apt() {
  setup
  require_do
  fake_apt
  earthfile <<EOF
$BASE
RUN mkdir -p /etc/apt/apt.conf.d && touch /etc/apt/apt.conf.d/docker-clean
IMPORT stdlib/apt
first:
    DO apt+INSTALL --packages="a b"
    RUN test ! -e /etc/apt/apt.conf.d/docker-clean && test ! -e /var/lib/apt/lists/marker
    RUN ls /usr/share/fake-pkgs | tr '\n' ' ' >/pkgs
    SAVE ARTIFACT /apt.log AS LOCAL out/first.log
    SAVE ARTIFACT /pkgs AS LOCAL out/first-pkgs
second:
    DO apt+APT --pkg="b c"
    SAVE ARTIFACT /apt.log AS LOCAL out/second.log
EOF
  earth_ok +first
  file_is out/first.log "frontend=noninteractive lists=1
flag -y
flag --no-install-recommends
downloaded a
downloaded b"
  file_is out/first-pkgs "a b "
  # The second build finds b in the shared cache mount, and the lists too.
  earth_ok +second
  file_is out/second.log "frontend=noninteractive lists=2
flag -y
cached b
downloaded c"
}

# The real apt on Debian (needs debian-bookworm-slim.oci.tar from
# scripts/base-images.sh and the network; about 20 s).
test_apt_debian() {
  setup
  [[ -s $images_dir/debian-bookworm-slim.oci.tar ]] ||
    skip "no $images_dir/debian-bookworm-slim.oci.tar: run scripts/base-images.sh"
  require_do
  "$earth" image import "$images_dir/debian-bookworm-slim.oci.tar" debian:bookworm-slim >/dev/null ||
    fail "earth image import debian"
  earthfile <<'EOF'
VERSION 0.8
IMPORT stdlib/apt
hello:
    FROM debian:bookworm-slim
    DO apt+INSTALL --packages=hello
    RUN hello >/out.txt
    # the .deb stayed in the cache mount, not in the image
    RUN test -z "$(ls /var/cache/apt/archives/*.deb 2>/dev/null)"
    RUN --mount=type=cache,id=earth-stdlib-apt-archives,target=/debs,sharing=locked \
        ls /debs | grep '^hello_' >/debs.txt
    SAVE ARTIFACT /out.txt AS LOCAL out/hello.txt
    SAVE ARTIFACT /debs.txt AS LOCAL out/debs.txt
EOF
  earth_ok +hello
  file_is out/hello.txt "Hello, world!"
  grep -q '^hello_.*\.deb$' out/debs.txt || fail "no hello .deb in the apt cache: $(cat out/debs.txt)"
}

# ---------------------------------------------------------------- npm
test_npm() {
  setup
  require_do
  fake npm <<'EOF'
#!/bin/sh
set -e
n=$(cat "$npm_config_cache/count" 2>/dev/null || echo 0)
echo $((n + 1)) >"$npm_config_cache/count"
echo "npm $* in $(pwd) cache=$npm_config_cache uses=$((n + 1))" >>/npm.log
mkdir -p node_modules && touch node_modules/installed
EOF
  echo '{}' >package-lock.json
  earthfile <<EOF
$BASE
IMPORT stdlib/npm
one:
    WORKDIR /app
    COPY package-lock.json .
    DO npm+INSTALL
    RUN test -e /app/node_modules/installed
    SAVE ARTIFACT /npm.log AS LOCAL out/one.log
two:
    WORKDIR /web
    DO npm+INSTALL --args="install left-pad"
    SAVE ARTIFACT /npm.log AS LOCAL out/two.log
EOF
  earth_ok +one
  file_is out/one.log "npm ci --no-audit --no-fund in /app cache=/earth-cache/npm uses=1"
  earth_ok +two
  file_is out/two.log "npm install left-pad in /web cache=/earth-cache/npm uses=2"
}

# ---------------------------------------------------------------- pip
test_pip() {
  setup
  require_do
  fake pip <<'EOF'
#!/bin/sh
echo "pip $* cache=$PIP_CACHE_DIR" >>/pip.log
EOF
  echo requests >requirements.txt
  earthfile <<EOF
$BASE
IMPORT stdlib/pip
reqs:
    WORKDIR /app
    COPY requirements.txt .
    DO pip+INSTALL --args=--user
    SAVE ARTIFACT /pip.log AS LOCAL out/reqs.log
packages:
    WORKDIR /empty
    DO pip+INSTALL --packages="flask click"
    SAVE ARTIFACT /pip.log AS LOCAL out/packages.log
nothing:
    WORKDIR /empty
    DO pip+INSTALL
EOF
  earth_ok +reqs
  file_is out/reqs.log "pip install --user -r requirements.txt cache=/earth-cache/pip"
  earth_ok +packages
  file_is out/packages.log "pip install flask click cache=/earth-cache/pip"
  earth_fails +nothing
  log_has "no requirements.txt and no --packages"
}

# ---------------------------------------------------------------- go
test_go() {
  setup
  require_do
  fake go <<'EOF'
#!/bin/sh
set -e
echo "go $* mod=$GOMODCACHE build=$GOCACHE flags=$GOFLAGS" >>/go.log
case "$1" in
mod) touch "$GOMODCACHE/downloaded" ;;
build)
  [ -e "$GOMODCACHE/downloaded" ] && echo "modules cached" >>/go.log
  [ -e "$GOCACHE/built" ] && echo "build cached" >>/go.log
  touch "$GOCACHE/built"
  if [ "$2" = -o ]; then mkdir -p "$(dirname "$3")" && echo binary >"$3"; fi ;;
esac
EOF
  earthfile <<EOF
$BASE
IMPORT stdlib/go
app:
    WORKDIR /src
    DO go+DOWNLOAD
    DO go+GO --args="build -o /out/app ./..."
    SAVE ARTIFACT /out/app AS LOCAL out/app
    SAVE ARTIFACT /go.log AS LOCAL out/go.log
again:
    DO go+GO --args="build ./..."
    SAVE ARTIFACT /go.log AS LOCAL out/again.log
EOF
  earth_ok +app
  file_is out/app binary
  file_is out/go.log "go mod download mod=/earth-cache/gomod build= flags=-modcacherw
go build -o /out/app ./... mod=/earth-cache/gomod build=/earth-cache/gobuild flags=-modcacherw
modules cached"
  earth_ok +again
  file_is out/again.log "go build ./... mod=/earth-cache/gomod build=/earth-cache/gobuild flags=-modcacherw
modules cached
build cached"
}

# ---------------------------------------------------------------- cargo
test_cargo() {
  setup
  require_do
  fake cargo <<'EOF'
#!/bin/sh
set -e
echo "cargo $* target=$CARGO_TARGET_DIR" >>/cargo.log
for f in "$CARGO_HOME"/registry/*; do echo "registry has ${f##*/}" >>/cargo.log; done
for f in "$CARGO_TARGET_DIR"/release/.fingerprint/*; do
  if [ -e "$f" ]; then echo "fingerprint ${f##*/}" >>/cargo.log; fi
done
touch "$CARGO_HOME/registry/index-$$"
mkdir -p "$CARGO_TARGET_DIR/release/deps" "$CARGO_TARGET_DIR/release/.fingerprint/app-0123abcd" \
  "$CARGO_TARGET_DIR/release/.fingerprint/serde-4567ef01"
echo app >"$CARGO_TARGET_DIR/release/app"
echo dep >"$CARGO_TARGET_DIR/release/deps/app.d"
EOF
  printf '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nserde = "1"\n' >Cargo.toml
  earthfile <<EOF
$BASE
ENV CARGO_HOME=/usr/local/cargo
RUN mkdir -p /usr/local/cargo/registry && touch /usr/local/cargo/registry/from-image
IMPORT stdlib/cargo
IMPORT github.com/earthly/lib/rust:3.0.3 AS rust
build:
    WORKDIR /src
    COPY Cargo.toml .
    DO rust+INIT
    DO rust+CARGO --args="build --release" --output="release/[^/]+"
    RUN test -f target/release/app && test ! -e target/release/deps
    RUN test ! -e /usr/local/cargo/registry && test ! -L /usr/local/cargo/registry
    SAVE ARTIFACT target/release/app AS LOCAL out/app
    SAVE ARTIFACT /cargo.log AS LOCAL out/build.log
check:
    WORKDIR /src
    COPY Cargo.toml .
    DO cargo+CARGO --args="check --release"
    RUN test ! -e target
    SAVE ARTIFACT /cargo.log AS LOCAL out/check.log
keep:
    WORKDIR /src
    COPY Cargo.toml .
    DO cargo+INIT --keep_fingerprints=true
    DO cargo+CARGO --args="build --release"
    SAVE ARTIFACT /cargo.log AS LOCAL out/keep.log
EOF
  earth_ok +build
  file_is out/app app
  file_is out/build.log "cargo build --release target=/earth-cache/cargo-target
registry has from-image"
  # Run again: the registry and the target directory (a cache mount of
  # +build) outlive the build; the local package's fingerprint is removed,
  # the dependency's kept.
  earth_ok --no-cache +build
  grep -q "registry has index-" out/build.log || fail "the registry cache was not kept: $(cat out/build.log)"
  grep -q "fingerprint serde-4567ef01" out/build.log || fail "the dependency's fingerprint was removed: $(cat out/build.log)"
  ! grep -q "fingerprint app-" out/build.log || fail "the local package's fingerprint was kept: $(cat out/build.log)"
  # Another target shares the registry, not the target directory.
  earth_ok +check
  eq "$(head -1 out/check.log)" "cargo check --release target=/earth-cache/cargo-target" "cargo in +check"
  grep -q "registry has index-" out/check.log || fail "the registry cache is not shared: $(cat out/check.log)"
  ! grep -q "fingerprint" out/check.log || fail "+check sees +build's target directory: $(cat out/check.log)"
  # INIT --keep_fingerprints=true keeps them all: +keep's second run (its
  # own target cache mount) finds what its first run left.
  earth_ok +keep
  earth_ok --no-cache +keep
  grep -q "fingerprint app-0123abcd" out/keep.log || fail "keep_fingerprints did not keep: $(cat out/keep.log)"
}

# ---------------------------------------------------------------- ssh
test_ssh() {
  setup
  require_do
  earthfile <<'EOF'
VERSION 0.8
FROM busybox
IMPORT stdlib/ssh
IMPORT github.com/earthly/lib/utils/ssh:3.0.3 AS essh
default:
    RUN mkdir -p /root/.ssh && echo "old key" >/root/.ssh/known_hosts
    DO ssh+ADD_KNOWN_HOSTS
    SAVE ARTIFACT /root/.ssh/known_hosts AS LOCAL out/default
custom:
    DO essh+ADD_KNOWN_HOSTS --target_file=/etc/ssh/deep/known
    SAVE ARTIFACT /etc/ssh/deep/known AS LOCAL out/custom
EOF
  earth_ok +default
  eq "$(head -1 out/default)" "old key" "the existing line is kept"
  eq "$(wc -l <out/default | tr -d ' ')" 7 "lines in known_hosts"
  grep -q '^github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl$' out/default ||
    fail "no github.com ed25519 key"
  grep -q '^gitlab.com ssh-ed25519 ' out/default || fail "no gitlab.com key"
  earth_ok +custom
  eq "$(wc -l <out/custom | tr -d ' ')" 6 "lines in a new known_hosts"
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'
  exit 0
fi
(($#)) || { echo "usage: stdlib_test.sh CASE... (--list)" >&2; exit 2; }
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "stdlib_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
