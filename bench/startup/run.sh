#!/usr/bin/env bash
# Start-up benchmark (issue 9): `earth --version` against `ninja --version`,
# and a no-op build of a tiny project (bench/monorepo/gen.py, N services)
# against ninja's no-op of the same pipeline, as ratios of hyperfine means
# (wall, and user+sys CPU) measured in the same run; then the shared
# libraries each earth run loads (LD_DEBUG=libs).
#
# Usage: bench/startup/run.sh       (root: the tiny project's cold build runs
#                                    sandboxes; without root only --version)
# Env:   RUNS (hyperfine runs, default 300), N (services, default 3), KEEP=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
runs=${RUNS:-300}
n=${N:-3}
for t in hyperfine ninja python3; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 1; }; done
cmake --build "$build" --target earth >/dev/null
earth=$build/earth

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_workdir startup
unset TMPDIR

# hf JSON CMD...: hyperfine -N of the commands into JSON.
hf() {
  local json=$1
  shift
  hyperfine -N --style none --warmup 20 --runs "$runs" --export-json "$json" "$@" \
    >/dev/null 2>"$work/hf.err" || { cat "$work/hf.err" >&2; exit 1; }
}

# ratios JSON LABEL: earth (first command) over the peer (second), in wall
# time and in CPU (user + system).
ratios() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
e, p = r[0], r[1]
ms = lambda x: 1000 * x
cpu = lambda x: x["user"] + x["system"]
print(f"{sys.argv[2]}: earth {ms(e['mean']):.2f} ms (user {ms(e['user']):.2f}, sys {ms(e['system']):.2f}),"
      f" peer {ms(p['mean']):.2f} ms (user {ms(p['user']):.2f}, sys {ms(p['system']):.2f}):"
      f" wall {e['mean'] / p['mean']:.2f}x, CPU {cpu(e) / cpu(p):.2f}x (goal 1.5x)")
PY
}

# libs CMD...: the shared objects the dynamic loader maps for CMD (and the
# processes it starts), in load order.
libs() {
  LD_DEBUG=libs LD_DEBUG_OUTPUT=$work/ld "$@" >/dev/null 2>&1 || true
  cat "$work"/ld.* | sed -n 's/.*calling init: //p' | awk '!seen[$0]++' | tr '\n' ' '
  rm -f "$work"/ld.*
  echo
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
hf "$work/version.json" -n earth "$earth --version" -n ninja "ninja --version"
ratios "$work/version.json" "--version"
echo "earth --version loads: $(libs "$earth" --version)"

if [[ $(id -u) -ne 0 ]]; then
  echo "not root: no tiny-project no-op (its cold build runs sandboxes)" >&2
  exit 0
fi
archive=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}/busybox.oci.tar
[[ -f $archive ]] || EARTH=$earth "$root/scripts/base-images.sh" --busybox-only >/dev/null
for tool in earth ninja; do python3 "$root/bench/monorepo/gen.py" "$n" "$work/$tool"; done
export EARTH_CACHE_DIR=$work/cache
"$earth" image import "$archive" busybox:latest >/dev/null
ninja -C "$work/ninja" >/dev/null
# Cold, then settle: the outputs written into each service's context are seen once.
(cd "$work/earth" && for _ in 1 2 3; do "$earth" +all >/dev/null 2>&1; done)
(cd "$work/earth" && hf "$work/noop.json" -n earth "$earth +all" -n ninja "ninja -C $work/ninja")
ratios "$work/noop.json" "no-op of $n services"
echo "earth +all (no-op) loads: $(cd "$work/earth" && libs "$earth" +all)"
