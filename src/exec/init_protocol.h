// What earth tells the sandbox's PID 1 (the small static program
// earth-sandbox-init, embedded in earth: sandbox_init_main.cc) and what PID 1
// reports back. Shared by both sides; plain C++ with no library, as the
// static helper links nothing but libc.
#pragma once

namespace earth::exec::detail {

// What PID 1 writes to the report pipe: a setup error, an exec error, or the
// command's wait status. One record fits in PIPE_BUF, so it is atomic.
struct Report {
  enum Kind : char { setup_error = 'E', exec_error = 'X', exited = 'S' } kind;
  int err = 0;    // errno
  int status = 0; // wait status when kind == exited
  char what[256] = {};
};

// earth-sandbox-init's argv: "earth-sandbox-init", the report fd, the plan's
// fd. The plan is a file of NUL-terminated strings, every number in decimal
// (not the command line, which any user of the host can read):
//   [0]  "earth-sandbox-init"
//   [1]  report fd      [2] stdout fd   [3] stderr fd
//   [4]  the command's stdin fd, or -1: /dev/null
//   [5]  seccomp fd: a file holding the filter's sock_filter array, or -1
//        for a privileged step (no filter, no capability drop)
//   [6]  the filter's length in instructions
//   [7]  "1": set the step's uid, gid and groups (as root); "0": keep them
//        (rootless: the user namespace maps one id, already the step's)
//   [8]  uid  [9] gid  [10] group count G, then G groups
//   then P (paths to try with execve, in order) and P paths,
//   then E (the command's environment's size) and E entries "NAME=value",
//   then "--", then the command's argv (at least one), to the end.
// PID 1's own environment is empty: nothing of the step's reaches its libc.
// It closes the plan's and the filter's fds once read.
enum InitArg {
  kReportFd = 1,
  kStdoutFd,
  kStderrFd,
  kStdinFd,
  kSeccompFd,
  kSeccompLen,
  kSetIds,
  kUid,
  kGid,
  kGroupCount
};

// The largest filter the kernel takes (BPF_MAXINSNS).
constexpr int kMaxFilterLen = 4096;

} // namespace earth::exec::detail
