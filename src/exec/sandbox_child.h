// The plan the sandbox's setup child carries out before it execs PID 1.
// Everything is prepared by the parent: between clone() and exec the child
// of a multi-threaded process may only make system calls (no malloc, no
// locks), so the child reads this plan and never allocates.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "init_protocol.h"

namespace earth::exec::detail {

// A bind mount of a host path, or a tmpfs when tmpfs_options is set.
struct BindPlan {
  const char* source;
  const char* target;
  bool read_only;
  bool is_dir;
  const char* tmpfs_options = nullptr; // "mode=1777[,size=N]"
};

// overlayfs stacks at most this many lower layers (OVL_MAX_STACK).
constexpr size_t kMaxOverlayLayers = 500;

struct ChildPlan {
  bool rootless = false;
  bool network_none = false;
  // Privileged: no masked or read-only /proc paths (and for PID 1: every
  // capability, no no_new_privs, no seccomp).
  bool privileged = false;
  int sync_fd = -1;       // read end: one byte once uid_map/gid_map are written
  int sync_write_fd = -1; // the parent's end, closed first thing in the child
  int report_fd = -1;     // write end for Report records
  int stdout_fd = -1;     // write ends of the output pipes
  int stderr_fd = -1;
  int stdin_fd = -1;              // the command's stdin (RunSpec::stdin_fd); -1: /dev/null
  const char* terminal = nullptr; // RunSpec::terminal, or null

  // overlayfs: `lowers` are top first, as overlayfs wants them. The work
  // dir is both overlayfs's workdir and the mount point: every directory
  // created and removed on the upper filesystem costs a block free (a
  // synchronous discard on some disks), so the sandbox makes none of its own.
  std::vector<const char*> lowers;
  const char* upper = nullptr;
  const char* work = nullptr;

  const char* hostname = nullptr;
  const char* hosts_text = nullptr;  // contents of /etc/hosts
  const char* resolv_text = nullptr; // and /etc/resolv.conf
  std::vector<BindPlan> binds;
  const char* cwd = "/";

  // PID 1: earth-sandbox-init, exec'd from init_fd with init_argv
  // (init_protocol.h); seccomp_fd holds the filter it installs (-1 when
  // privileged). These fds are close-on-exec in earth.
  int init_fd = -1;
  int seccomp_fd = -1;
  int plan_fd = -1; // PID 1's plan: init_protocol.h
  char* const* init_argv = nullptr;
};

// The entry point of the clone()d setup child; never returns.
int sandbox_init(void* plan);

} // namespace earth::exec::detail
