#!/usr/bin/env bash
# Build-engine benchmark: what a step costs `earth +target`, against peers
# measured in the same run (absolute times on shared machines are noise; the
# ratios are the result). Three parts, interleaved in rounds:
#
#  1. RUN cache miss: `earth --no-cache +t`, a target of N `RUN true` steps
#     (and +tw, N RUNs that each write a file, against a bare `sh -c 'echo
#     1 >FILE'`: a layer kept, synced before it is recorded),
#     per step (total / N, and the marginal cost (T(N) - T(0)) / N against a
#     target with no RUN), versus a bare `unshare -m -u -i -p -f chroot ROOTFS
#     true` on the same busybox rootfs. Goal (issue 7): <= 1.5x.
#  2. Cache hit: `earth +t` fully cached, (T - T(earth --version)) / N, and the
#     marginal (T(N) - T(0)) / N. Goal: < 1 ms per step.
#  3. A two-stage build (COPY three files, RUN, artifact into a second stage,
#     RUN, image) as an Earthfile and as the equivalent Dockerfile, cold
#     (--no-cache, base image present) and fully cached: earth versus
#     `buildah bud --layers` (overlay, default OCI runtime, --network host as
#     earth's RUN default), ratio earth / buildah.
#
# Each round runs every command RUNS times under hyperfine (-N, no shell);
# ROUNDS rounds interleave the peers, and the medians are over all samples.
#
# Usage: bench/engine/run.sh            (as root; builds earth if needed)
# Env:   N (steps, default 20), ROUNDS (default 7), RUNS (per round, default 3),
#        EARTH_BUILD_DIR (default build/), KEEP=1 keeps the work directory,
#        EARTH_OLD=path/to/earth adds that binary's miss (another commit's
#        build) as a peer in the same rounds, on the same project and cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EARTH_BUILD_DIR:-$root/build}
n=${N:-20}
rounds=${ROUNDS:-7}
runs=${RUNS:-3}
[[ $(id -u) -eq 0 ]] || { echo "run as root (unshare, the sandbox and buildah need it)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/deps.sh --test" >&2; exit 1; }
cmake --build "$build" --target earth earth_sandbox_run >/dev/null
earth=$build/earth
sandbox_run=$build/bench/sandbox/earth_sandbox_run

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_workdir engine
export EARTH_CACHE_DIR=$work/cache
unset TMPDIR

# The busybox image (archive cached in ~/.cache/earth-base-images), imported
# into this private store.
EARTH=$earth "$root/scripts/base-images.sh" --busybox-only >/dev/null
archive=${EARTH_BASE_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/earth-base-images}/busybox.oci.tar
[[ -f $archive ]] || { echo "no busybox archive at $archive" >&2; exit 1; }

# The same image unpacked once, for unshare+chroot.
rootfs=$work/rootfs
mkdir -p "$rootfs"
python3 - "$archive" "$rootfs" <<'PY'
import io, json, sys, tarfile
outer = tarfile.open(sys.argv[1])
blob = lambda d: outer.extractfile("blobs/sha256/" + d.split(":")[1]).read()
index = json.loads(outer.extractfile("index.json").read())
manifest = json.loads(blob(index["manifests"][0]["digest"]))
for layer in manifest["layers"]:
    tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))).extractall(sys.argv[2])
PY
mkdir -p "$rootfs/proc" "$rootfs/dev" "$rootfs/tmp"

# The project: +t (N RUN true), +t0 (no RUN), +build/+image (two stages), and
# the Dockerfile of +image.
proj=$work/proj
mkdir -p "$proj"
for f in a b c; do head -c 4096 /dev/urandom | base64 >"$proj/$f.txt"; done
{
  echo "VERSION 0.8"
  echo "FROM busybox"
  echo
  echo "t0:"
  echo "    SAVE ARTIFACT /etc/passwd"
  echo
  echo "t:"
  for _ in $(seq "$n"); do echo "    RUN true"; done
  echo "    SAVE ARTIFACT /etc/passwd"
  echo
  echo "tw:" # each RUN writes a file: a layer that must be kept, durably
  for i in $(seq "$n"); do echo "    RUN echo $i >/w.txt"; done
  echo "    SAVE ARTIFACT /etc/passwd"
  echo
  echo "t10:" # hits only: 10N steps resolve the per-hit cost better
  for _ in $(seq $((10 * n))); do echo "    RUN true"; done
  echo "    SAVE ARTIFACT /etc/passwd"
  cat <<'EOF'

build:
    WORKDIR /src
    COPY a.txt b.txt c.txt ./
    RUN cat a.txt b.txt c.txt > out.txt && wc -c out.txt
    SAVE ARTIFACT out.txt

image:
    COPY +build/out.txt /app/out.txt
    RUN wc -c /app/out.txt > /app/size.txt
    SAVE IMAGE earth-bench:latest
EOF
} >"$proj/Earthfile"
cat >"$proj/Dockerfile" <<'EOF'
FROM busybox AS build
WORKDIR /src
COPY a.txt b.txt c.txt ./
RUN cat a.txt b.txt c.txt > out.txt && wc -c out.txt

FROM busybox
COPY --from=build /src/out.txt /app/out.txt
RUN wc -c /app/out.txt > /app/size.txt
EOF
cd "$proj"
"$earth" +t >/dev/null 2>&1 || { "$earth" +t; exit 1; }
"$earth" +t10 >/dev/null 2>&1 || { "$earth" +t10; exit 1; }

# Diagnostic: the same miss with the cache on tmpfs, which has no synchronous
# discards and cheap inode allocation (see README.md, "Where a miss goes").
shm_cache=$(mktemp -d /dev/shm/earth-engine-bench.XXXXXX)
trap 'rm -rf "$shm_cache"; bench_cleanup' EXIT
EARTH_CACHE_DIR=$shm_cache EARTH=$earth "$root/scripts/base-images.sh" --busybox-only >/dev/null
EARTH_CACHE_DIR=$shm_cache "$earth" +t >/dev/null 2>&1

names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "miss N" "$earth --no-cache +t"
add "miss 0" "$earth --no-cache +t0"
add "miss N, writing" "$earth --no-cache +tw"
add "miss N, tmpfs cache" "env EARTH_CACHE_DIR=$shm_cache $earth --no-cache +t"
add "miss 0, tmpfs cache" "env EARTH_CACHE_DIR=$shm_cache $earth --no-cache +t0"
if [[ -n ${EARTH_OLD:-} ]]; then
  add "old miss N" "$EARTH_OLD --no-cache +t"
  add "old miss 0" "$EARTH_OLD --no-cache +t0"
fi
add "unshare+chroot" "unshare -m -u -i -p -f chroot $rootfs true"
add "unshare+chroot, writing" "unshare -m -u -i -p -f chroot $rootfs sh -c 'echo 1 >/tmp/w.txt'"
[[ -x $sandbox_run ]] && add "earth_sandbox_run" "$sandbox_run --scratch $work $rootfs true"
add "hit N" "$earth +t"
add "hit 10N" "$earth +t10"
add "hit 0" "$earth +t0"
add "earth --version" "$earth --version"
add "earth cold" "$earth --no-cache +image"
add "earth cached" "$earth +image"
if command -v buildah >/dev/null; then
  bud="buildah --root $work/containers --runroot $work/containers-run --storage-driver overlay"
  id=$($bud pull -q "oci-archive:$archive")
  $bud tag "$id" localhost/busybox:latest
  bb="$bud bud -q --layers --network host --pull=never -f $proj/Dockerfile -t bench-buildah"
  $bb "$proj" >/dev/null
  add "buildah cold" "$bb --no-cache $proj"
  add "buildah cached" "$bb $proj"
else
  echo "buildah missing (scripts/deps.sh --test): part 3 without the peer" >&2
fi

args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/round$r.json" \
    "${args[@]}" >/dev/null 2>"$work/hyperfine.err" || { cat "$work/hyperfine.err" >&2; exit 1; }
  # Keep buildah's layers from piling up over the rounds (each --no-cache
  # build commits new ones): not timed. earth's --no-cache steps stay in its
  # cache (about 25 small directories a build).
  [[ -n ${bud:-} ]] && $bud rmi --prune >/dev/null 2>&1 || true
done

echo "# machine: $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg), earth src at $(git -C "$root" log -1 --format=%h -- src include)," \
  "N=$n, $rounds rounds x $runs runs"
python3 - "$n" "$work"/round*.json <<'PY'
import json, statistics, sys
n = int(sys.argv[1])
samples, per_round = {}, []
for path in sys.argv[2:]:
    r = {x["command"]: x["times"] for x in json.load(open(path))["results"]}
    per_round.append({k: statistics.median(v) for k, v in r.items()})
    for k, v in r.items():
        samples.setdefault(k, []).extend(v)
med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
def spread(f):
    vals = sorted(f({k: v * 1e3 for k, v in r.items()}) for r in per_round)
    return f"{vals[0]:.2f}-{vals[-1]:.2f}"

print(f"{'command':<22}{'median ms':>10}{'samples':>9}")
for k, v in med.items():
    print(f"{k:<22}{v:>10.2f}{len(samples[k]):>9}")
print()
bare = med["unshare+chroot"]
miss_total = lambda m: m["miss N"] / n
miss_marg = lambda m: (m["miss N"] - m["miss 0"]) / n
hit_total = lambda m: (m["hit N"] - m["earth --version"]) / n
hit_marg = lambda m: (m["hit N"] - m["hit 0"]) / n
hit_marg10 = lambda m: (m["hit 10N"] - m["hit 0"]) / (10 * n)
miss_shm = lambda m: (m["miss N, tmpfs cache"] - m["miss 0, tmpfs cache"]) / n
print("metric                               median   per-round range")
print(f"miss per step, total/N (ms)         {miss_total(med):7.2f}   {spread(miss_total)}")
print(f"miss per step, marginal (ms)        {miss_marg(med):7.2f}   {spread(miss_marg)}")
print(f"bare unshare+chroot true (ms)       {bare:7.2f}   {spread(lambda m: m['unshare+chroot'])}")
ok = lambda c: "met" if c else "MISSED"
r1 = miss_total(med) / bare
r2 = miss_marg(med) / bare
print(f"miss/bare, total/N                  {r1:7.2f}x  {spread(lambda m: miss_total(m) / m['unshare+chroot'])}  goal <= 1.5x: {ok(r1 <= 1.5)}")
print(f"miss/bare, marginal                 {r2:7.2f}x  {spread(lambda m: miss_marg(m) / m['unshare+chroot'])}  goal <= 1.5x: {ok(r2 <= 1.5)}")
miss_w = lambda m: (m["miss N, writing"] - m["miss 0"]) / n
rw = miss_w(med) / med["unshare+chroot, writing"]
print(f"miss writing a file, marginal (ms)  {miss_w(med):7.2f}   {spread(miss_w)}")
print(f"  vs bare sh -c 'echo >file'        {rw:7.2f}x  {spread(lambda m: miss_w(m) / m['unshare+chroot, writing'])}  goal <= 1.5x: {ok(rw <= 1.5)}")
r3 = miss_shm(med) / bare
print(f"  diagnostic: marginal miss, cache on tmpfs {miss_shm(med):.2f} ms = {r3:.2f}x bare")
if "old miss N" in med:
    old_marg = lambda m: (m["old miss N"] - m["old miss 0"]) / n
    print(f"EARTH_OLD: miss per step, marginal  {old_marg(med):7.2f}   {spread(old_marg)}"
          f"  = {old_marg(med) / bare:.2f}x bare  ({spread(lambda m: old_marg(m) / m['unshare+chroot'])})")
    print(f"this earth / EARTH_OLD, marginal    {miss_marg(med) / old_marg(med):7.2f}x  {spread(lambda m: miss_marg(m) / old_marg(m))}")
if "earth_sandbox_run" in med:
    print(f"earth_sandbox_run / bare            {med['earth_sandbox_run'] / bare:7.2f}x  (the sandbox alone, as bench/sandbox)")
h1, h2 = hit_total(med), hit_marg(med)
print(f"hit per step, (T - --version)/N (ms){h1:7.3f}   {spread(hit_total)}  goal < 1 ms: {ok(h1 < 1)}")
print(f"hit per step, marginal (ms)         {h2:7.3f}   {spread(hit_marg)}  goal < 1 ms: {ok(h2 < 1)}")
h3 = hit_marg10(med)
print(f"hit per step, marginal over 10N (ms){h3:7.3f}   {spread(hit_marg10)}  goal < 1 ms: {ok(h3 < 1)}")
if "buildah cold" in med:
    for kind in ("cold", "cached"):
        e, b = f"earth {kind}", f"buildah {kind}"
        print(f"two-stage {kind:<6} earth/buildah       {med[e] / med[b]:7.2f}x  {spread(lambda m: m[e] / m[b])}"
              f"  ({med[e]:.1f} vs {med[b]:.1f} ms)")
PY
