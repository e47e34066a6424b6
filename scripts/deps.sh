#!/usr/bin/env bash
# Installs the Debian 12 packages earth needs to build and test, if missing.
# Usage: scripts/deps.sh [--test]   (--test adds the test and benchmark peers)
set -euo pipefail

# The last line: libarchive.a's compressors and ACL library (earth links
# libarchive statically, cmake/static_deps.cmake).
build_pkgs=(cmake ninja-build g++ pkg-config git
  tao-pegtl-dev libfmt-dev libarchive-dev libssl-dev libyaml-cpp-dev
  libgtest-dev libcurl4-openssl-dev libzstd-dev nlohmann-json3-dev libseccomp-dev
  liblz4-dev liblzma-dev libbz2-dev zlib1g-dev libacl1-dev)
test_pkgs=(clang libclang-rt-14-dev busybox-static docker-registry skopeo apache2-utils
  make runc bubblewrap buildah hyperfine python3 util-linux iproute2 procps tmux
  openssh-client zsh)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "earth: installing Debian packages: ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
