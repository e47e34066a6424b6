// The plan a sandbox's PID 1 carries out, and the report it sends back.
// Everything is prepared by the parent: between clone() and exec the child
// of a multi-threaded process may only make system calls (no malloc, no
// locks), so the child reads this plan and never allocates.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

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
  // Privileged: every capability, no no_new_privs, no seccomp, no masked or
  // read-only /proc paths. Otherwise the command keeps Docker's default
  // capabilities and gets `seccomp` (a compiled filter, never null then).
  bool privileged = false;
  const sock_fprog* seccomp = nullptr;
  int sync_fd = -1;       // read end: one byte once uid_map/gid_map are written
  int sync_write_fd = -1; // the parent's end, closed first thing in the child
  int report_fd = -1;     // write end for Report records
  int stdout_fd = -1;     // write ends of the output pipes
  int stderr_fd = -1;

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

  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<char*> argv; // null-terminated
  std::vector<char*> envp; // null-terminated
  // Paths to try with execve, in order: argv[0] itself when it has a '/',
  // else argv[0] under each PATH entry of the step's environment.
  std::vector<const char*> exec_paths;
};

// What PID 1 writes to report_fd: a setup error, an exec error, or the
// command's wait status. One record fits in PIPE_BUF, so it is atomic.
struct Report {
  enum Kind : char { setup_error = 'E', exec_error = 'X', exited = 'S' } kind;
  int err = 0;    // errno
  int status = 0; // wait status when kind == exited
  char what[256] = {};
};

// The entry point of the clone()d child; never returns.
int sandbox_init(void* plan);

} // namespace earth::exec::detail
