// The Linux sandbox: clone() into new mount, PID, UTS and IPC namespaces
// (plus a network namespace for Network::none, plus a user namespace when not
// root), overlayfs of the layers, pivot_root, a minimal /dev and /proc. See
// docs/sandbox.md for what is and is not isolated.
#pragma once

#include <sys/types.h>

#include <string>

#include "earth/exec/runtime.h"

namespace earth::exec {

class LinuxRuntime : public Runtime {
public:
  // Rootless (through a user namespace) when the process is not root.
  LinuxRuntime();
  Result<RunResult> run(const RunSpec& spec) override;
  bool rootless() const { return rootless_; }

private:
  bool rootless_;
};

// Kills every sandbox this process is running and makes later runs return
// at once with `interrupted` set. Async-signal-safe: call it from a SIGINT or
// SIGTERM handler. Without a handler, earth's death still kills every sandbox
// (PR_SET_PDEATHSIG on each sandbox's PID 1).
void interrupt_all_runs();
bool runs_interrupted();
// Makes SIGINT, SIGTERM and SIGHUP call interrupt_all_runs(): what earth's
// commands install before they start sandboxes (Ctrl-C then exits 130).
void kill_runs_on_signals();
// Lets runs start again after interrupt_all_runs(); for tests.
void clear_interrupt();

// A process group earth runs on the host (LOCALLY): interrupt_all_runs()
// sends it SIGTERM at once, as it kills the sandboxes, and marks it (its
// runner then waits a grace period and kills what is left). A slot for
// host_group_interrupted and unwatch_host_group; -1 when too many groups
// run at once (then only its runner's polling stops it).
int watch_host_group(pid_t pgid);
bool host_group_interrupted(int slot);
void unwatch_host_group(int slot);

// rm -rf for scratch dirs: copes with the mode-000 directories overlayfs
// leaves in a work dir, which a non-root owner cannot otherwise list. For
// work dirs of runs that never finished (earth was killed) and for
// throw-away upper dirs.
void remove_scratch(const std::string& path);

} // namespace earth::exec
