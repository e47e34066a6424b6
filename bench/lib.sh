# shellcheck shell=bash
# Helpers shared by the benchmark scripts (sourced).

# bench_workdir NAME: a scratch dir on the disk (like a real cache, not on
# tmpfs) in $work, removed at exit with any mounts under it (buildah's
# overlay store may hold some) and buildah's containers ($bud, if set);
# KEEP=1 keeps it.
bench_workdir() {
  work=$(mktemp -d "/var/tmp/earth-$1-bench.XXXXXX")
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [[ -n ${KEEP:-} ]]; then echo "kept $work" >&2; return; fi
  [[ -n ${bud:-} ]] && $bud rm --all >/dev/null 2>&1 || true
  grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
