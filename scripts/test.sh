#!/usr/bin/env bash
# Quick start, step 2: install what is missing, build earth and run the whole
# test suite, then the unit tests again under ASan+UBSan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh" --test
"$root/scripts/build.sh"
# The base images the e2e tests and examples build on (busybox in seconds;
# debian:bookworm-slim needs Debian's archive, ~3 minutes the first time,
# then cached under ~/.cache/earth-base-images).
EARTH="$root/build/earth" "$root/scripts/base-images.sh" ||
  echo "test.sh: base-images.sh failed; the Debian examples will be skipped" >&2
cd "$root/build"
ctest --output-on-failure -j2 --timeout 300

if [[ "${EARTH_SKIP_SANITIZE:-}" != 1 ]]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  EARTH_BUILD_DIR="$root/build-asan" "$root/scripts/build.sh" -DEARTH_SANITIZE=ON -DEARTH_BENCH=OFF
  cd "$root/build-asan"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j2 --timeout 600 -L unit
fi
