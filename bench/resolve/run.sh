#!/usr/bin/env bash
# Resolves generated monorepos of 1k, 3k and 10k targets; the time should
# grow linearly (reported per target).
set -euo pipefail
bin=${1:-build/bench/resolve/earth_resolve_bench}
for n in 1000 3000 10000; do
  "$bin" --targets "$n"
done
