// earth-sandbox-init: the sandbox's PID 1. earth's setup child (sandbox_child.cc)
// builds the namespaces, mounts and root, then execs this small static
// program from a memfd (it is embedded in earth), so the sandbox's first
// process never copies earth's address space. It starts the step's command
// as PID 2 (user, capabilities, seccomp), reaps whatever the command leaves,
// and when the command has exited kills and reaps every other process and
// reports the command's status. Arguments: init_protocol.h.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "init_protocol.h"

using namespace earth::exec::detail;

namespace {

// The capabilities a root command keeps: Docker's default set without
// CAP_NET_RAW (no packet sockets on the host's network). Every other one
// leaves the bounding set too, so root inside cannot mount, load modules or
// undo the sandbox. CAP_MKNOD stays: every filesystem the command can write
// is mounted nodev, so a node it makes opens no device.
constexpr int kKeptCaps[] = {
    CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,           CAP_KILL,
    CAP_SETGID, CAP_SETUID,       CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_MKNOD,  CAP_AUDIT_WRITE,  CAP_SETFCAP};

constexpr uint64_t kept_mask() {
  uint64_t mask = 0;
  for (int cap : kKeptCaps) mask |= uint64_t{1} << cap;
  return mask;
}

struct Plan {
  int report_fd = -1, stdout_fd = -1, stderr_fd = -1;
  bool privileged = false;
  bool set_ids = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int group_count = 0;
  gid_t groups[65536];
  int path_count = 0;
  char** paths = nullptr;
  char** envp = nullptr; // null-terminated
  char** argv = nullptr; // null-terminated: the end of our own argv
  sock_filter filter[kMaxFilterLen];
  sock_fprog program{};
};

Plan g_plan;

void append(char* dst, size_t cap, const char* s) {
  size_t n = ::strnlen(dst, cap);
  while (s && *s && n + 1 < cap) dst[n++] = *s++;
  dst[n] = '\0';
}

void send_report(Report::Kind kind, int err, int status, const char* what, const char* detail) {
  Report r{};
  r.kind = kind;
  r.err = err;
  r.status = status;
  append(r.what, sizeof r.what, what);
  if (detail) {
    append(r.what, sizeof r.what, " ");
    append(r.what, sizeof r.what, detail);
  }
  if (g_plan.report_fd < 0) return;
  ssize_t n;
  do n = ::write(g_plan.report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(const char* what, const char* detail = nullptr) {
  send_report(Report::setup_error, errno, 0, what, detail);
  ::_exit(127);
}

void check(long rc, const char* what, const char* detail = nullptr) {
  if (rc < 0) fail(what, detail);
}

long number(const char* s) {
  if (!s || !*s) {
    errno = EINVAL;
    fail("earth-sandbox-init: bad arguments");
  }
  bool negative = *s == '-';
  if (negative) ++s;
  long n = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || n > (1L << 40)) {
      errno = EINVAL;
      fail("earth-sandbox-init: bad number");
    }
    n = n * 10 + (*s - '0');
  }
  return negative ? -n : n;
}

void parse(int argc, char** argv) {
  if (argc <= kGroupCount) {
    errno = EINVAL;
    fail("earth-sandbox-init: too few arguments");
  }
  Plan& p = g_plan;
  p.report_fd = static_cast<int>(number(argv[kReportFd]));
  p.stdout_fd = static_cast<int>(number(argv[kStdoutFd]));
  p.stderr_fd = static_cast<int>(number(argv[kStderrFd]));
  int seccomp_fd = static_cast<int>(number(argv[kSeccompFd]));
  long len = number(argv[kSeccompLen]);
  p.privileged = seccomp_fd < 0;
  p.set_ids = number(argv[kSetIds]) == 1;
  p.uid = static_cast<uid_t>(number(argv[kUid]));
  p.gid = static_cast<gid_t>(number(argv[kGid]));
  long groups = number(argv[kGroupCount]);
  int i = kGroupCount + 1;
  auto need = [&](long n) {
    if (n < 0 || n > argc - i) {
      errno = EINVAL;
      fail("earth-sandbox-init: truncated arguments");
    }
  };
  need(groups);
  if (groups > 65536) fail("earth-sandbox-init: too many groups");
  p.group_count = static_cast<int>(groups);
  for (int g = 0; g < p.group_count; ++g) p.groups[g] = static_cast<gid_t>(number(argv[i++]));
  need(1);
  long paths = number(argv[i++]);
  need(paths);
  p.path_count = static_cast<int>(paths);
  p.paths = argv + i;
  i += p.path_count;
  need(1);
  long env = number(argv[i++]);
  need(env + 2);
  p.envp = argv + i;
  i += static_cast<int>(env);
  // The "--" after the env becomes its terminating null; the command's argv
  // runs to the end of ours, which execve ended with a null.
  if (std::strcmp(argv[i], "--") != 0) fail("earth-sandbox-init: no -- before the command");
  argv[i++] = nullptr;
  p.argv = argv + i;
  if (!p.privileged) {
    if (len < 1 || len > kMaxFilterLen) {
      errno = EINVAL;
      fail("earth-sandbox-init: bad seccomp filter length");
    }
    auto size = static_cast<ssize_t>(len * static_cast<long>(sizeof(sock_filter)));
    check(::pread(seccomp_fd, p.filter, static_cast<size_t>(size), 0) == size ? 0 : -1,
          "read the seccomp filter");
    ::close(seccomp_fd);
    p.program.len = static_cast<unsigned short>(len);
    p.program.filter = p.filter;
  }
}

// Cuts the bounding, ambient and inheritable sets and this process's
// permitted and effective sets to kKeptCaps (or less, if earth has less).
// setresuid to a non-root user then clears what is left.
void drop_capabilities() {
  for (int cap = 0; cap < 64; ++cap)
    if (!(kept_mask() & (uint64_t{1} << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
        errno != EINVAL)
      fail("drop capability");
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  check(::syscall(SYS_capget, &header, data), "capget");
  for (int i = 0; i < 2; ++i) {
    auto kept = static_cast<uint32_t>(kept_mask() >> (32 * i));
    data[i].permitted &= kept;
    data[i].effective = data[i].permitted;
    data[i].inheritable = 0;
  }
  check(::syscall(SYS_capset, &header, data), "capset");
}

// The ambient and inheritable sets: empty, as in earth (a rootless setup
// raised them to carry PID 1's capabilities across its exec).
void clear_inherited_capabilities() {
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  check(::syscall(SYS_capget, &header, data), "capget");
  for (auto& d : data) d.inheritable = 0;
  check(::syscall(SYS_capset, &header, data), "capset");
}

// Between PID 1 and exec of the command: become the step's user, with a
// clean signal state and only fds 0-2 (plus the report pipe, close-on-exec).
int command_main(void*) {
  const Plan& p = g_plan;
  clear_inherited_capabilities();
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(p.stdout_fd, 1) < 0 ||
      ::dup2(p.stderr_fd, 2) < 0)
    fail("set up stdio");
  if (!p.privileged) drop_capabilities();
  if (p.set_ids) {
    check(::syscall(SYS_setgroups, p.group_count, p.groups), "setgroups");
    check(::syscall(SYS_setresgid, p.gid, p.gid, p.gid), "setresgid");
    check(::syscall(SYS_setresuid, p.uid, p.uid, p.uid), "setresuid");
  }
  if (p.report_fd > 3) ::close_range(3, static_cast<unsigned>(p.report_fd) - 1, 0);
  ::close_range(static_cast<unsigned>(p.report_fd) + 1, ~0U, 0);
  if (!p.privileged) {
    // Last: from here on only the profile's system calls work (execve does).
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
    check(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p.program),
          "install the seccomp filter");
  }
  int err = ENOENT;
  for (int i = 0; i < p.path_count; ++i) {
    ::execve(p.paths[i], p.argv, p.envp);
    // Like execvp: a later PATH entry may still hold a runnable file.
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  send_report(Report::exec_error, err, 0, "exec", p.argv[0]);
  ::_exit(127);
}

// The plan file's NUL-terminated strings, as an argv (null-terminated);
// `count` is set to their number.
char** read_plan(int fd, int& count) {
  struct stat st {};
  check(::fstat(fd, &st), "stat the plan");
  auto size = static_cast<size_t>(st.st_size);
  auto* text = static_cast<char*>(std::malloc(size + 1));
  if (!text) fail("earth-sandbox-init: out of memory");
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pread(fd, text + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("read the plan");
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  text[size] = '\0';
  size_t strings = 0;
  for (size_t i = 0; i < size; ++i) strings += text[i] == '\0';
  auto** out = static_cast<char**>(std::malloc((strings + 1) * sizeof(char*)));
  if (!out || strings > (1U << 30)) fail("earth-sandbox-init: out of memory");
  count = 0;
  for (size_t i = 0; i < size; i += std::strlen(text + i) + 1) out[count++] = text + i;
  out[count] = nullptr;
  return out;
}

alignas(16) char g_command_stack[64 * 1024];

} // namespace

int main(int argc, char** argv) {
  // Not dumpable (exec made it dumpable again): the command cannot open
  // /proc/1/fd or ptrace PID 1.
  ::prctl(PR_SET_DUMPABLE, 0);
  if (argc != 3) return 127;
  g_plan.report_fd = static_cast<int>(number(argv[1]));
  char** plan = read_plan(static_cast<int>(number(argv[2])), argc);
  parse(argc, plan);
  const Plan& p = g_plan;
  // The report pipe stays open here and in the command until its exec.
  check(::fcntl(p.report_fd, F_SETFD, FD_CLOEXEC), "fcntl report pipe");
  // CLONE_VFORK: PID 1 sleeps until the command has exec'd, so sharing
  // memory with it is safe and costs no page-table copy.
  pid_t cmd = ::clone(command_main, g_command_stack + sizeof g_command_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, nullptr);
  check(cmd, "clone command");
  ::close(p.stdout_fd);
  ::close(p.stderr_fd);
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, __WALL);
    if (pid == cmd) {
      // earth takes the layer as soon as it has the status, before this
      // process has exited: nothing may write to it any more. So every
      // process left in the namespace is killed and reaped first.
      ::kill(-1, SIGKILL);
      while (::waitpid(-1, nullptr, __WALL) >= 0 || errno == EINTR) {
      }
      send_report(Report::exited, 0, status, "", nullptr);
      ::_exit(0);
    }
    if (pid < 0 && errno != EINTR) fail("waitpid");
  }
}
