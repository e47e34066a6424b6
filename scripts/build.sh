#!/usr/bin/env bash
# Configures and builds earth into build/ (or $EARTH_BUILD_DIR) with -j2.
# Extra arguments go to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
launcher=()
if command -v ccache >/dev/null; then # optional: shares objects between checkouts
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" >/dev/null
cmake --build "$build" -j "${EARTH_JOBS:-2}"
