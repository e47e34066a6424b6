#!/usr/bin/env bash
# Parser benchmark: earth parsing a generated 10,000-target Earthfile versus
# ninja parsing a generated build.ninja of the same size, in the same run.
# Usage: bench/parse/run.sh [TARGETS] [RUNS]   (builds into $EARTH_BUILD_DIR or build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
targets=${1:-10000}
runs=${2:-5}
cmake --build "$build" --target earth_parse_gen earth_parse_bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/parse/earth_parse_gen" --targets "$targets" "$work/Earthfile" >/dev/null
bytes=$(stat -c %s "$work/Earthfile")
out=$("$build/bench/parse/earth_parse_bench" "$work/Earthfile" "$runs")
echo "$out" | grep -v '^best_ms='
earth_ms=$(echo "$out" | sed -n 's/^best_ms=//p')

if ! command -v ninja >/dev/null; then
  echo "ninja: not installed, no comparison"
  exit 0
fi
mkdir -p "$work/ninja"
"$build/bench/parse/earth_parse_gen" --ninja --bytes "$bytes" "$work/ninja/build.ninja" >/dev/null
best=""
for _ in $(seq "$runs"); do
  # `-d stats` prints ".ninja parse  count  avg(us)  total(ms)"; -n builds nothing.
  ms=$(cd "$work/ninja" && ninja -d stats -n 2>&1 | awk '/^\.ninja parse/ {print $NF}')
  best=$(awk -v a="$ms" -v b="${best:-1e30}" 'BEGIN {print (a < b) ? a : b}')
done
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.2f", b / 1e6}')
awk -v ms="$best" -v mb="$mb" -v e="$earth_ms" 'BEGIN {
  printf "ninja parse: best %.1f MB/s (%.1f ms) on a %.2f MB build.ninja\n", mb / (ms / 1000), ms, mb
  printf "earth/ninja parse time ratio: %.2f (lower is better for earth)\n", e / ms
}'
