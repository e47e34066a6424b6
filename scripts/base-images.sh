#!/usr/bin/env bash
# Makes the base images the examples and end-to-end tests use, without any
# container registry, and imports them into earth's local image store:
#
#   busybox:latest        /bin/busybox from Debian's busybox-static, its applet
#                         symlinks, /etc/passwd and /etc/group (root, nobody), /tmp
#   debian:bookworm-slim  `mmdebstrap --variant=minbase bookworm` from the Debian
#                         mirror the host uses (apt inside works against it)
#
# Each is a one-layer OCI image archive written here (tar + sha256sum), checked
# with skopeo when it is installed, then `earth image import`ed under that
# exact name, so `FROM busybox` and `FROM debian:bookworm-slim` resolve locally.
#
# Idempotent: an image already in the store (`earth image ls`) is skipped, and
# built archives are kept in $EARTH_BASE_IMAGES_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/earth-base-images), so a rerun, or an import into
# another store (EARTH_CACHE_DIR), costs seconds. See docs/base-images.md.
#
# The Debian image also gets the CA certificates the host added locally
# (/usr/local/share/ca-certificates/*.crt; a TLS-inspecting proxy's, say), where
# Debian's ca-certificates picks them up once a build installs it: npm and curl
# inside then trust what the host trusts. --no-host-ca leaves them out.
#
# Usage: scripts/base-images.sh [--busybox-only] [--rebuild] [--check] [--no-host-ca]
#   --busybox-only  only busybox:latest (seconds; no network needed once
#                   busybox-static is installed)
#   --rebuild       rebuild the archives and re-import, even if cached
#   --no-host-ca    do not copy the host's local CA certificates into Debian
#   --check         afterwards, run each image in the sandbox (needs root and
#                   network for the Debian check: apt-get install hello)
# Env: EARTH (the earth binary; default build/earth, else `earth` on PATH),
#      EARTH_CACHE_DIR (the store), EARTH_BASE_IMAGES_DIR (the archive cache),
#      EARTH_DEBIAN_MIRROR (overrides the mirror read from the host's apt sources).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
busybox_only=false rebuild=false check=false host_ca=true
for a in "$@"; do
  case $a in
    --busybox-only) busybox_only=true ;;
    --rebuild) rebuild=true ;;
    --check) check=true ;;
    --no-host-ca) host_ca=false ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "base-images.sh: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ -n ${EARTH:-} ]]; then earth=$EARTH
elif [[ -x $root/build/earth ]]; then earth=$root/build/earth
elif command -v earth >/dev/null; then earth=$(command -v earth)
else echo "base-images.sh: no earth binary: build it (scripts/build.sh) or set EARTH" >&2; exit 1
fi
cache=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}
mkdir -p "$cache"
sde=${SOURCE_DATE_EPOCH:-1704067200} # 2024-01-01: fixed, so rebuilt layers differ only by content
export SOURCE_DATE_EPOCH=$sde

log() { printf 'base-images: %s\n' "$*" >&2; }
sudo_() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

need_pkg() { # need_pkg PKG...: apt-get installs the packages that are missing
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

in_store() { # in_store NAME: the store already has the image
  "$earth" image ls | awk 'NR > 1 { print $1 }' |
    grep -qxF -e "$1" -e "docker.io/library/$1" -e "index.docker.io/library/$1"
}

oci_arch() {
  case $(dpkg --print-architecture) in
    amd64) echo amd64 ;; arm64) echo arm64 ;; armhf) echo arm ;; i386) echo 386 ;;
    ppc64el) echo ppc64le ;; s390x) echo s390x ;; riscv64) echo riscv64 ;;
    *) dpkg --print-architecture ;;
  esac
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# write_oci ROOTFS OUT TAG CMD_JSON: a one-layer OCI image archive of ROOTFS.
# The layer is a gzip'd tar sorted by name, with numeric owners and mtimes
# clamped to SOURCE_DATE_EPOCH, so the same files make the same image. The
# archive is an OCI image layout (oci-layout, index.json, blobs/sha256/*) in a
# tar, written to OUT atomically.
write_oci() {
  local rootfs=$1 out=$2 tag=$3 cmd=$4
  local work
  work=$(mktemp -d "$cache/.oci.XXXXXX")
  mkdir -p "$work/blobs/sha256"
  # /dev, /proc and /sys stay empty directories: the sandbox mounts its own.
  tar -C "$rootfs" --sort=name --numeric-owner --mtime="@$sde" --clamp-mtime --xattrs --xattrs-include='security.capability' \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -cf "$work/layer.tar" .
  local diff_id
  diff_id=$(sha "$work/layer.tar")
  gzip -n -6 "$work/layer.tar"
  local layer_digest layer_size
  layer_digest=$(sha "$work/layer.tar.gz")
  layer_size=$(size "$work/layer.tar.gz")
  mv "$work/layer.tar.gz" "$work/blobs/sha256/$layer_digest"

  local created
  created=$(date -u -d "@$sde" +%Y-%m-%dT%H:%M:%SZ)
  printf '%s' "{\"created\":\"$created\",\"architecture\":\"$(oci_arch)\",\"os\":\"linux\",\
\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":$cmd},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\
\"history\":[{\"created\":\"$created\",\"created_by\":\"scripts/base-images.sh\"}]}" >"$work/config.json"
  local config_digest config_size
  config_digest=$(sha "$work/config.json")
  config_size=$(size "$work/config.json")
  mv "$work/config.json" "$work/blobs/sha256/$config_digest"

  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$config_size},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer_digest\",\"size\":$layer_size}]}" \
    >"$work/manifest.json"
  local manifest_digest manifest_size
  manifest_digest=$(sha "$work/manifest.json")
  manifest_size=$(size "$work/manifest.json")
  mv "$work/manifest.json" "$work/blobs/sha256/$manifest_digest"

  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_digest\",\
\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" >"$work/index.json"

  tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$sde" \
    -cf "$work/image.tar" oci-layout index.json blobs
  if command -v skopeo >/dev/null; then # an independent OCI reader agrees it is an image
    skopeo inspect --raw "oci-archive:$work/image.tar" >/dev/null ||
      { log "skopeo cannot read $out"; rm -rf "$work"; return 1; }
  fi
  mv "$work/image.tar" "$out"
  rm -rf "$work"
}

build_busybox() { # build_busybox OUT
  need_pkg busybox-static
  local bin
  bin=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$')
  local rootfs
  rootfs=$(mktemp -d "$cache/.rootfs.XXXXXX")
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,home,root,tmp,var/tmp,dev,proc,sys}
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  chmod 700 "$rootfs/root"
  install -m 755 "$bin" "$rootfs/bin/busybox"
  local applet
  while read -r applet; do # bin/sh, usr/bin/awk, ... as busybox itself lists them
    [[ $applet == bin/busybox || -e $rootfs/$applet ]] && continue
    mkdir -p "$rootfs/$(dirname "$applet")"
    ln -s /bin/busybox "$rootfs/$applet"
  done < <("$rootfs/bin/busybox" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"
  write_oci "$rootfs" "$1" latest '["sh"]'
  rm -rf "$rootfs"
}

# debian_sources: the "deb URI SUITE COMPONENTS" lines for bookworm, read from
# the host's apt sources (one-line and deb822) when they name bookworm suites,
# else deb.debian.org. EARTH_DEBIAN_MIRROR overrides the main archive.
debian_sources() {
  local main="" security=""
  if [[ -n ${EARTH_DEBIAN_MIRROR:-} ]]; then main=$EARTH_DEBIAN_MIRROR; fi
  local f uris suites
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    if [[ $f == *.sources ]]; then
      # deb822: one stanza per blank-line-separated paragraph
      while IFS=$'\t' read -r uris suites; do
        for s in $suites; do
          case $s in
            bookworm) [[ -z $main ]] && main=${uris%% *} ;;
            bookworm-security) [[ -z $security ]] && security=${uris%% *} ;;
          esac
        done
      done < <(awk 'BEGIN{RS=""; FS="\n"} !/Enabled: *no/ && /Types:[^\n]*deb([ \n]|$)/ {
                      u=""; s="";
                      for (i=1;i<=NF;i++) {
                        if ($i ~ /^URIs:/) { u=$i; sub(/^URIs: */, "", u) }
                        if ($i ~ /^Suites:/) { s=$i; sub(/^Suites: */, "", s) }
                      }
                      print u "\t" s }' "$f")
    else
      while read -r type rest; do
        [[ $type == deb ]] || continue
        rest=$(sed -E 's/^\[[^]]*\] *//' <<<"$rest")
        read -r uris suites _ <<<"$rest"
        case $suites in
          bookworm) [[ -z $main ]] && main=$uris ;;
          bookworm-security) [[ -z $security ]] && security=$uris ;;
        esac
      done <"$f"
    fi
  done
  main=${main:-http://deb.debian.org/debian}
  main=${main%/}
  if [[ -z $security ]]; then
    # the security archive lives next to the main one on Debian's own mirrors
    if [[ $main == */debian ]]; then security=${main}-security; else security=http://deb.debian.org/debian-security; fi
  fi
  security=${security%/}
  echo "deb $main bookworm main"
  echo "deb $main bookworm-updates main"
  echo "deb $security bookworm-security main"
}

build_debian() { # build_debian OUT
  need_pkg mmdebstrap
  local rootfs
  rootfs=$(mktemp -d "$cache/.rootfs.XXXXXX")
  local -a sources
  mapfile -t sources < <(debian_sources)
  log "mmdebstrap --variant=minbase bookworm from ${sources[0]#deb } (about 2 minutes)"
  # The dpkg path excludes are those of Docker's debian:*-slim (no docs, man
  # pages or translations); mmdebstrap keeps them in /etc/dpkg/dpkg.cfg.d, so
  # packages installed later are slim too. mmdebstrap writes the sources to the
  # image's /etc/apt/sources.list and removes the package lists, as Docker's
  # image does: `apt-get update` comes first.
  # shellcheck disable=SC2016 # $1 is the hook's argument, expanded by mmdebstrap's shell
  mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/linda/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
    bookworm "$rootfs" "${sources[@]}"
  if $host_ca && [[ -d /usr/local/share/ca-certificates ]]; then
    local crt n=0
    while IFS= read -r -d '' crt; do
      install -D -m 644 "$crt" "$rootfs/usr/local/share/ca-certificates/${crt#/usr/local/share/ca-certificates/}"
      n=$((n + 1))
    done < <(find /usr/local/share/ca-certificates -name '*.crt' -type f -print0)
    ((n == 0)) || log "copied the host's $n local CA certificate(s) into /usr/local/share/ca-certificates"
  fi
  write_oci "$rootfs" "$1" bookworm-slim '["bash"]'
  rm -rf "$rootfs"
}

# ensure NAME FILE BUILDER: imports NAME from the cached archive FILE, building
# it first when it is missing (or with --rebuild).
ensure() {
  local name=$1 file=$cache/$2 builder=$3
  if ! $rebuild && in_store "$name"; then
    log "$name: already in the store (earth image ls), skipped"
    return 0
  fi
  if $rebuild || [[ ! -s $file ]]; then
    local t0=$SECONDS
    log "$name: building $file"
    "$builder" "$file"
    log "$name: built in $((SECONDS - t0)) s ($(du -h "$file" | cut -f1))"
  else
    log "$name: using the cached archive $file"
  fi
  "$earth" image import "$file" "$name" >/dev/null
  log "$name: imported"
}

rm -rf "$cache"/.oci.* "$cache"/.rootfs.* 2>/dev/null || true # leftovers of a killed run
ensure busybox:latest busybox.oci.tar build_busybox
$busybox_only || ensure debian:bookworm-slim debian-bookworm-slim.oci.tar build_debian

if $check; then
  log "checking busybox:latest"
  "$earth" debug run busybox -- sh -c 'echo ok' | grep -qx ok
  if ! $busybox_only; then
    log "checking debian:bookworm-slim (apt-get install hello)"
    "$earth" debug run debian:bookworm-slim -- sh -c \
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends hello >/dev/null && hello' |
      grep -q 'Hello, world!'
  fi
  log "checks passed"
fi
"$earth" image ls | awk 'NR == 1 || $1 ~ /busybox|debian/'
