#!/usr/bin/env bash
# Start-to-exit of `true` in a sandbox: earth's LinuxRuntime against runc,
# bwrap and `unshare -m -u -i -p -f chroot`, on the same busybox rootfs, in the
# same run (absolute times on shared machines are noise; the ratios are the
# result). Goal: within 2x of unshare+chroot, at least 5x faster than runc.
#
# Usage: bench/sandbox/bench.sh [BUILD_DIR]   (default build/; run as root)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${EARTH_BUILD_DIR:-$root/build}}
runner="$build/bench/sandbox/earth_sandbox_run"
runs=${RUNS:-100}
[[ -x "$runner" ]] || { echo "build first: $runner is missing" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "run as root (runc and unshare need it)" >&2; exit 1; }

work=$(mktemp -d /tmp/earth-sandbox-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
touch "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf"

# A runc bundle whose process is `true`, without a terminal.
(cd "$work/bundle" && runc spec)
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["root"] = {"path": "rootfs", "readonly": False}
json.dump(spec, open(path, "w"))
PY

# earth's scratch (upper and work dir) on the disk like a build's layers, and
# on tmpfs like a throw-away `earth debug run` may use: on disks where every
# freed directory block costs a synchronous discard, the difference is the
# price of the five directories a step creates and removes.
shm=$(mktemp -d /dev/shm/earth-sandbox-bench.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT
cmds=(
  "$runner --scratch $work $rootfs /bin/true"
  "$runner --scratch $shm $rootfs /bin/true"
  "unshare -m -u -i -p -f chroot $rootfs /bin/true"
  "bwrap --bind $rootfs / --proc /proc --dev /dev --unshare-pid --unshare-uts --unshare-ipc /bin/true"
  "runc --root $work/runc-state run --bundle $work/bundle earth-bench"
)
names=(earth "earth (tmpfs scratch)" unshare+chroot bwrap runc)
[[ -x "$build/earth" ]] && {
  cmds+=("$build/earth debug run --rootfs $rootfs -- /bin/true")
  names+=("earth debug run")
}
unset TMPDIR # earth debug run: its throw-away layer goes to /dev/shm
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/result.json" "${args[@]}" >&2

python3 - "$work/result.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
earth = results["earth"]["median"]
print(f"{'sandbox':<24}{'median ms':>10}{'mean ms':>10}{'vs earth':>10}")
for name, r in results.items():
    print(f"{name:<24}{r['median']*1e3:>10.2f}{r['mean']*1e3:>10.2f}{r['median']/earth:>9.2f}x")
unshare = results["unshare+chroot"]["median"]
runc = results["runc"]["median"]
for name in ["earth", "earth (tmpfs scratch)"]:
    t = results[name]["median"]
    print(f"{name}: {t/unshare:.2f}x unshare+chroot (goal <= 2), runc is {runc/t:.2f}x slower (goal >= 5)")
PY
