#!/usr/bin/env bash
# Monorepo benchmark (issue 9): N services, each COPY + RUN + SAVE ARTIFACT,
# a root target BUILDing them all; the same work as build.ninja and Makefile
# on the host, and (small case) a multi-stage Dockerfile under buildah.
# Per size: cold build, no-op rebuild, one source file changed, peak memory,
# no-op time per target. Ratios against peers measured in the same run.
# make runs with -r -R (no built-in rules: its fastest); its no-op as a user
# types it, built-in rules on, is reported too.
#
# Usage: bench/monorepo/run.sh          (root; SIZES="100 300" by default)
# Env:   SIZES (e.g. "100 300 1000"), RUNS (hyperfine runs, default 5),
#        BUILDAH_N (services in the buildah case, default 20; 0: skip),
#        JOBS (parallel jobs for every tool, default 2), KEEP=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
sizes=${SIZES:-100 300}
runs=${RUNS:-5}
buildah_n=${BUILDAH_N:-20}
jobs=${JOBS:-2}
[[ $(id -u) -eq 0 ]] || { echo "run as root (the sandbox needs it)" >&2; exit 1; }
for t in hyperfine ninja make; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 1; }; done
cmake --build "$build" --target earth >/dev/null
earth=$build/earth
archive=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}/busybox.oci.tar
[[ -f $archive ]] || EARTH=$earth "$root/scripts/base-images.sh" --busybox-only >/dev/null

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_workdir monorepo
unset TMPDIR

# time_once NAME DIR CMD...: one timed run (wall seconds, peak RSS KB) into $work/once.
time_once() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && /usr/bin/time -f "$name %e %M" -a -o "$work/once" "$@" >/dev/null 2>"$work/err") ||
    { cat "$work/err" >&2; exit 1; }
}

# hf JSON PREPARE NAME CMD [DIR]: hyperfine into JSON (PREPARE may be empty),
# run in DIR: earth takes no -C, so it runs where the user would type it
# rather than behind a `sh -c 'cd …'` that costs a shell's start (~1 ms)
# ninja's and make's -C do not.
hf() {
  local json=$1 prepare=$2 name=$3 cmd=$4 dir=${5:-.}
  local p=()
  [[ -n $prepare ]] && p=(--prepare "$prepare")
  (cd "$dir" && hyperfine -N --style none --warmup 1 --runs "$runs" "${p[@]}" --export-json "$json" \
    -n "$name" "$cmd") >/dev/null 2>"$work/hf.err" || { cat "$work/hf.err" >&2; exit 1; }
}

for n in $sizes; do
  echo "N=$n: generating" >&2
  for tool in earth ninja make; do python3 "$root/bench/monorepo/gen.py" "$n" "$work/$n/$tool"; done
  export EARTH_CACHE_DIR=$work/$n/cache
  "$earth" image import "$archive" busybox:latest >/dev/null
  echo "N=$n: cold builds" >&2
  time_once "earth-cold-$n" "$work/$n/earth" "$earth" -j "$jobs" +all
  time_once "ninja-cold-$n" "$work/$n/ninja" ninja -j "$jobs"
  time_once "make-cold-$n" "$work/$n/make" make -r -R -s -j "$jobs"
  # Settle: the outputs written into each service's context are seen once.
  (cd "$work/$n/earth" && "$earth" -j "$jobs" +all >/dev/null 2>&1 && "$earth" +all >/dev/null 2>&1)
  echo "N=$n: no-op and one-file-changed rebuilds" >&2
  time_once "earth-noop-$n" "$work/$n/earth" "$earth" -j "$jobs" +all
  time_once "ninja-noop-$n" "$work/$n/ninja" ninja -j "$jobs"
  time_once "make-noop-$n" "$work/$n/make" make -r -R -s -j "$jobs"
  hf "$work/$n/earth-noop.json" "" earth "$earth -j $jobs +all" "$work/$n/earth"
  hf "$work/$n/ninja-noop.json" "" ninja "ninja -C $work/$n/ninja -j $jobs"
  hf "$work/$n/make-noop.json" "" make "make -C $work/$n/make -r -R -s -j $jobs"
  # make as typed: its built-in implicit rules searched for every file.
  hf "$work/$n/make-typed-noop.json" "" make "make -C $work/$n/make -s -j $jobs"
  for tool in earth ninja make; do
    cmd="ninja -C $work/$n/ninja -j $jobs"
    [[ $tool == make ]] && cmd="make -C $work/$n/make -r -R -s -j $jobs"
    [[ $tool == earth ]] && cmd="$earth -j $jobs +all"
    hf "$work/$n/$tool-change.json" "sh -c 'echo x >>$work/$n/$tool/svc-0000/src/a.txt'" "$tool" "$cmd" \
      "$work/$n/$tool"
  done
done

if ((buildah_n > 0)) && command -v buildah >/dev/null; then
  n=$buildah_n
  echo "buildah case: N=$n" >&2
  python3 "$root/bench/monorepo/gen.py" "$n" "$work/b$n/earth" --dockerfile
  python3 "$root/bench/monorepo/gen.py" "$n" "$work/b$n/docker" --dockerfile
  export EARTH_CACHE_DIR=$work/b$n/cache
  "$earth" image import "$archive" busybox:latest >/dev/null
  bud="buildah --root $work/containers --runroot $work/containers-run --storage-driver overlay"
  id=$($bud pull -q "oci-archive:$archive")
  $bud tag "$id" localhost/busybox:latest
  bb="$bud bud -q --layers --network host --pull=never --jobs $jobs -f $work/b$n/docker/Dockerfile -t bench-mono"
  time_once "earth-cold-b$n" "$work/b$n/earth" "$earth" -j "$jobs" +all
  time_once "buildah-cold-b$n" "$work/b$n/docker" $bb "$work/b$n/docker"
  (cd "$work/b$n/earth" && "$earth" +all >/dev/null 2>&1 && "$earth" +all >/dev/null 2>&1)
  hf "$work/b$n/earth-noop.json" "" earth "$earth -j $jobs +all" "$work/b$n/earth"
  hf "$work/b$n/buildah-noop.json" "" buildah "$bb $work/b$n/docker"
  hf "$work/b$n/earth-change.json" "sh -c 'echo x >>$work/b$n/earth/svc-0000/src/a.txt'" earth \
    "$earth -j $jobs +all" "$work/b$n/earth"
  hf "$work/b$n/buildah-change.json" "sh -c 'echo x >>$work/b$n/docker/svc-0000/src/a.txt'" buildah \
    "$bb $work/b$n/docker"
fi

echo "# machine: $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg), earth src at $(git -C "$root" log -1 --format=%h -- src include)," \
  "jobs $jobs, $runs runs per figure"
python3 - "$work" "$sizes" "$buildah_n" <<'PY'
import json, os, statistics, sys
work, sizes, bn = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
once = {}
for line in open(os.path.join(work, "once")):
    name, wall, rss = line.split()
    once[name] = (float(wall), int(rss))
def med(path):
    return statistics.median(json.load(open(path))["results"][0]["times"])
def ms(s): return f"{s * 1e3:.0f} ms" if s < 10 else f"{s:.1f} s"
print("| N | scenario | earth | ninja | make | earth/ninja | earth/make |")
print("|---|---|---|---|---|---|---|")
for n in sizes:
    c = {t: once[f"{t}-cold-{n}"][0] for t in ("earth", "ninja", "make")}
    print(f"| {n} | cold build | {ms(c['earth'])} | {ms(c['ninja'])} | {ms(c['make'])} | "
          f"{c['earth'] / c['ninja']:.1f}× | {c['earth'] / c['make']:.1f}× |")
    for kind, label in (("noop", "no-op rebuild"), ("change", "one source file changed")):
        m = {t: med(os.path.join(work, n, f"{t}-{kind}.json")) for t in ("earth", "ninja", "make")}
        print(f"| {n} | {label} | {ms(m['earth'])} | {ms(m['ninja'])} | {ms(m['make'])} | "
              f"{m['earth'] / m['ninja']:.1f}× | {m['earth'] / m['make']:.2f}× |")
    r = {t: once[f"{t}-noop-{n}"][1] for t in ("earth", "ninja", "make")}
    print(f"| {n} | peak RSS, no-op | {r['earth'] / 1024:.1f} MB | {r['ninja'] / 1024:.1f} MB | "
          f"{r['make'] / 1024:.1f} MB | | |")
    cpu = {}
    for t in ("earth", "ninja", "make"):
        r0 = json.load(open(os.path.join(work, n, f"{t}-noop.json")))["results"][0]
        cpu[t] = r0["user"] + r0["system"]
    print(f"| {n} | no-op CPU (user+sys, mean) | {ms(cpu['earth'])} | {ms(cpu['ninja'])} | "
          f"{ms(cpu['make'])} | {cpu['earth'] / cpu['ninja']:.1f}× | {cpu['earth'] / cpu['make']:.1f}× |")
    for t in ("earth", "ninja", "make"):
        r0 = json.load(open(os.path.join(work, n, f"{t}-change.json")))["results"][0]
        cpu[t] = r0["user"] + r0["system"]
    print(f"| {n} | one file changed CPU (user+sys, mean) | {ms(cpu['earth'])} | {ms(cpu['ninja'])} | "
          f"{ms(cpu['make'])} | {cpu['earth'] / cpu['ninja']:.1f}× | {cpu['earth'] / cpu['make']:.1f}× |")
    m = {t: med(os.path.join(work, n, f"{t}-noop.json")) for t in ("earth", "make-typed")}
    print(f"| {n} | no-op, make as typed (built-in rules on) | {ms(m['earth'])} | | "
          f"{ms(m['make-typed'])} | | {m['earth'] / m['make-typed']:.2f}× |")
    noop = med(os.path.join(work, n, "earth-noop.json"))
    print(f"| {n} | earth no-op per target | {noop / int(n) * 1e3:.2f} ms | "
          f"{med(os.path.join(work, n, 'ninja-noop.json')) / int(n) * 1e3:.3f} ms | | | |")
if bn and os.path.exists(os.path.join(work, f"b{bn}", "buildah-noop.json")):
    d = os.path.join(work, f"b{bn}")
    print()
    print(f"| N={bn} vs buildah | earth | buildah | earth/buildah |")
    print("|---|---|---|---|")
    ce, cb = once[f"earth-cold-b{bn}"][0], once[f"buildah-cold-b{bn}"][0]
    print(f"| cold build | {ms(ce)} | {ms(cb)} | {ce / cb:.2f}× |")
    for kind, label in (("noop", "no-op rebuild"), ("change", "one source file changed")):
        e, b = med(os.path.join(d, f"earth-{kind}.json")), med(os.path.join(d, f"buildah-{kind}.json"))
        print(f"| {label} | {ms(e)} | {ms(b)} | {e / b:.3f}× |")
PY
