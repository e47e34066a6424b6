#!/usr/bin/env bash
# bench/image/run.sh [MB] [TMPDIR]: layer pack/unpack/import throughput of
# earth against GNU tar on the same blobs (default 64 MB of files in /tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
[[ -x $build/bench/image/earth_image_bench ]] || cmake --build "$build" -j "${EARTH_JOBS:-2}" --target earth_image_bench
exec "$build/bench/image/earth_image_bench" "${1:-64}" "${2:-/tmp}"
