// Test helpers: a busybox root filesystem in a temp dir, and leak checks.
#pragma once

#include <string>
#include <vector>

#include "earth/exec/runtime.h"

namespace earth::exec::testing {

// /bin/busybox from Debian's busybox-static with a symlink per applet, and a
// minimal /etc/passwd (root, nobody, user) and /etc/group. No /proc, /dev or
// /etc/hosts: the sandbox must cope with images that lack them.
void make_busybox_rootfs(const std::string& dir);

// Processes whose command line contains `marker`.
int count_processes(const std::string& marker);
// Lines of /proc/self/mountinfo that mention `path`.
int count_mounts(const std::string& path);

// Runs `argv` with `lowers` in a fresh upper dir under `scratch` (and the
// work dir spec.work_dir, created if named; else the runtime's memory
// scratch), collecting output.
struct Captured {
  Result<RunResult> result = Failure{"not run"};
  std::vector<std::string> out, err;
  std::string upper;
};
Captured run_captured(Runtime& runtime, const std::string& scratch, RunSpec spec);

} // namespace earth::exec::testing
