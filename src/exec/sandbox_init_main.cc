// earth-sandbox-init: the sandbox's PID 1. earth's setup child (sandbox_child.cc)
// builds the namespaces, mounts and root, then execs this small static
// program from a memfd (it is embedded in earth), so the sandbox's first
// process never copies earth's address space. It starts the step's command
// as PID 2 (user, capabilities, seccomp), reaps whatever the command leaves,
// and when the command has exited kills and reaps every other process and
// reports the command's status. Arguments and plan: init_protocol.h.
//
// Freestanding: no libc, raw system calls only (x86-64 and AArch64). A
// static glibc's start-up (CPU feature probes, relocations, TLS) costs more
// than the rest of this program's life; this one maps a few pages and goes.
#include <asm/ioctls.h>
#include <asm/unistd.h>
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/filter.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include <linux/wait.h>

#include <cstddef>
#include <cstdint>

#include "init_protocol.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "earth-sandbox-init: raw system calls are written for x86-64 and AArch64 only"
#endif

using namespace earth::exec::detail;

// What the compiler may call for copies and zeroing.
extern "C" {
void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  while (n--) *d++ = static_cast<unsigned char>(c);
  return dst;
}
void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n--) *d++ = *s++;
  return dst;
}
}

namespace {

// A raw system call: the result, or -errno.
long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#else
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
#endif
}

template <typename... T> long call(long n, T... args) {
  return sys(n, (long)args...);
}

[[noreturn]] void exit_now(int status) {
  for (;;) call(__NR_exit_group, status);
}

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

constexpr int kMaxGroups = 65536;

// All zero until parsed, so it lives in .bss (nothing runs constructors).
struct Plan {
  int report_fd, stdout_fd, stderr_fd, stdin_fd;
  bool privileged;
  bool set_ids;
  unsigned uid;
  unsigned gid;
  int group_count;
  unsigned groups[kMaxGroups];
  int path_count;
  char** paths;
  char** envp; // null-terminated
  char** argv; // null-terminated: the end of the plan's strings
  sock_filter filter[kMaxFilterLen];
  sock_fprog program;
};

constinit Plan g_plan{};
constinit int g_report_fd = -1;

size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool equal(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

void append(char* dst, size_t cap, const char* s) {
  size_t n = 0;
  while (n < cap && dst[n]) ++n;
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
  if (g_report_fd < 0) return;
  long n;
  do n = call(__NR_write, g_report_fd, &r, sizeof r);
  while (n == -EINTR);
}

[[noreturn]] void fail(int err, const char* what, const char* detail = nullptr) {
  send_report(Report::setup_error, err, 0, what, detail);
  exit_now(127);
}

// Fails the setup when a system call said -errno.
long check(long rc, const char* what, const char* detail = nullptr) {
  if (rc < 0 && rc > -4096) fail(static_cast<int>(-rc), what, detail);
  return rc;
}

long number(const char* s) {
  if (!s || !*s) fail(EINVAL, "earth-sandbox-init: bad arguments");
  bool negative = *s == '-';
  if (negative) ++s;
  long n = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || n > (1L << 40)) fail(EINVAL, "earth-sandbox-init: bad number");
    n = n * 10 + (*s - '0');
  }
  return negative ? -n : n;
}

void parse(int argc, char** argv) {
  if (argc <= kGroupCount) fail(EINVAL, "earth-sandbox-init: too few arguments");
  Plan& p = g_plan;
  p.report_fd = g_report_fd = static_cast<int>(number(argv[kReportFd]));
  p.stdout_fd = static_cast<int>(number(argv[kStdoutFd]));
  p.stderr_fd = static_cast<int>(number(argv[kStderrFd]));
  p.stdin_fd = static_cast<int>(number(argv[kStdinFd]));
  int seccomp_fd = static_cast<int>(number(argv[kSeccompFd]));
  long len = number(argv[kSeccompLen]);
  p.privileged = seccomp_fd < 0;
  p.set_ids = number(argv[kSetIds]) == 1;
  p.uid = static_cast<unsigned>(number(argv[kUid]));
  p.gid = static_cast<unsigned>(number(argv[kGid]));
  long groups = number(argv[kGroupCount]);
  int i = kGroupCount + 1;
  auto need = [&](long n) {
    if (n < 0 || n > argc - i) fail(EINVAL, "earth-sandbox-init: truncated arguments");
  };
  need(groups);
  if (groups > kMaxGroups) fail(EINVAL, "earth-sandbox-init: too many groups");
  p.group_count = static_cast<int>(groups);
  for (int g = 0; g < p.group_count; ++g) p.groups[g] = static_cast<unsigned>(number(argv[i++]));
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
  // runs to the end of the plan's strings, which end with a null.
  if (!equal(argv[i], "--")) fail(EINVAL, "earth-sandbox-init: no -- before the command");
  argv[i++] = nullptr;
  p.argv = argv + i;
  if (!p.privileged) {
    if (len < 1 || len > kMaxFilterLen) fail(EINVAL, "earth-sandbox-init: bad filter length");
    long size = len * static_cast<long>(sizeof(sock_filter));
    if (check(call(__NR_pread64, seccomp_fd, p.filter, size, 0), "read the seccomp filter") != size)
      fail(EIO, "read the seccomp filter");
    call(__NR_close, seccomp_fd);
    p.program.len = static_cast<unsigned short>(len);
    p.program.filter = p.filter;
  }
}

// The plan file's NUL-terminated strings, as an argv (null-terminated);
// `count` is set to their number.
char** read_plan(int fd, int& count) {
  struct statx st {};
  check(call(__NR_statx, fd, "", AT_EMPTY_PATH, STATX_SIZE, &st), "stat the plan");
  auto size = static_cast<size_t>(st.stx_size);
  if (size > (size_t{1} << 30)) fail(E2BIG, "earth-sandbox-init: plan too large");
  // Room for the text, a final NUL, and at most one pointer per byte.
  size_t room = size + 1 + (size + 2) * sizeof(char*);
  long mem = check(
      call(__NR_mmap, nullptr, room, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      "mmap the plan");
  char* text = reinterpret_cast<char*>(mem);
  for (size_t done = 0; done < size;) {
    long n = call(__NR_pread64, fd, text + done, size - done, done);
    if (n == -EINTR) continue;
    if (n <= 0) fail(n < 0 ? static_cast<int>(-n) : EIO, "read the plan");
    done += static_cast<size_t>(n);
  }
  call(__NR_close, fd);
  text[size] = '\0';
  auto** out = reinterpret_cast<char**>(text + ((size + 1 + alignof(char*) - 1) / alignof(char*)) *
                                                   alignof(char*));
  count = 0;
  for (size_t i = 0; i < size; i += length(text + i) + 1) out[count++] = text + i;
  out[count] = nullptr;
  return out;
}

struct CapHeader {
  uint32_t version;
  int pid;
};
struct CapData {
  uint32_t effective, permitted, inheritable;
};

// The ambient and inheritable sets: empty, as in earth (a rootless setup
// raised them to carry PID 1's capabilities across its exec).
void clear_inherited_capabilities() {
  call(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  CapHeader header{_LINUX_CAPABILITY_VERSION_3, 0};
  CapData data[2] = {};
  check(call(__NR_capget, &header, data), "capget");
  for (auto& d : data) d.inheritable = 0;
  check(call(__NR_capset, &header, data), "capset");
}

// Cuts the bounding set and this process's permitted and effective sets to
// kKeptCaps (or less, if earth has less). setresuid to a non-root user then
// clears what is left.
void drop_capabilities() {
  for (int cap = 0; cap < 64; ++cap) {
    if (kept_mask() & (uint64_t{1} << cap)) continue;
    long rc = call(__NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (rc == -EINVAL) break; // past the kernel's last capability: none follows
    if (rc < 0) fail(static_cast<int>(-rc), "drop capability");
  }
  CapHeader header{_LINUX_CAPABILITY_VERSION_3, 0};
  CapData data[2] = {};
  check(call(__NR_capget, &header, data), "capget");
  for (int i = 0; i < 2; ++i) {
    auto kept = static_cast<uint32_t>(kept_mask() >> (32 * i));
    data[i].permitted &= kept;
    data[i].effective = data[i].permitted;
    data[i].inheritable = 0;
  }
  check(call(__NR_capset, &header, data), "capset");
}

void move_fd(int from, int to) {
  if (from != to) check(call(__NR_dup3, from, to, 0), "set up stdio");
}

// Between PID 1 and exec of the command: become the step's user, with a
// clean signal state and only fds 0-2 (plus the report pipe, close-on-exec).
[[noreturn]] void command_main() {
  const Plan& p = g_plan;
  call(__NR_setsid);
  uint64_t none = 0;
  call(__NR_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
  if (p.stdin_fd >= 0) {
    move_fd(p.stdin_fd, 0);
  } else {
    int null_fd = static_cast<int>(check(call(__NR_openat, AT_FDCWD, "/dev/null", O_RDONLY),
                                         "set up stdio: open", "/dev/null"));
    move_fd(null_fd, 0);
  }
  move_fd(p.stdout_fd, 1);
  move_fd(p.stderr_fd, 2);
  // A pty on stdin (RUN --interactive on a terminal) becomes the session's
  // controlling terminal: ^C there is SIGINT to the command. Not a tty: no-op.
  if (p.stdin_fd >= 0) call(__NR_ioctl, 0, TIOCSCTTY, 0);
  clear_inherited_capabilities();
  if (!p.privileged) drop_capabilities();
  if (p.set_ids) {
    check(call(__NR_setgroups, p.group_count, p.groups), "setgroups");
    check(call(__NR_setresgid, p.gid, p.gid, p.gid), "setresgid");
    check(call(__NR_setresuid, p.uid, p.uid, p.uid), "setresuid");
  }
  if (p.report_fd > 3) call(__NR_close_range, 3, p.report_fd - 1, 0);
  call(__NR_close_range, p.report_fd + 1, ~0U, 0);
  if (!p.privileged) {
    // Last: from here on only the profile's system calls work (execve does).
    check(call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
    check(call(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p.program), "install the seccomp filter");
  }
  int err = ENOENT;
  for (int i = 0; i < p.path_count; ++i) {
    long rc = call(__NR_execve, p.paths[i], p.argv, p.envp);
    // Like execvp: a later PATH entry may still hold a runnable file.
    if (rc != -ENOENT && rc != -ENOTDIR) err = static_cast<int>(-rc);
  }
  send_report(Report::exec_error, err, 0, "exec", p.argv[0]);
  exit_now(127);
}

[[noreturn]] void init_main(int argc, char** argv) {
  // Not dumpable (exec made it dumpable again): the command cannot open
  // /proc/1/fd or ptrace PID 1.
  call(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc != 3) exit_now(127);
  g_report_fd = static_cast<int>(number(argv[1]));
  int count = 0;
  char** plan = read_plan(static_cast<int>(number(argv[2])), count);
  parse(count, plan);
  const Plan& p = g_plan;
  // The report pipe stays open here and in the command until its exec.
  check(call(__NR_fcntl, p.report_fd, F_SETFD, FD_CLOEXEC), "fcntl report pipe");
  // A plain fork: this process's memory is a few pages.
  long cmd = check(call(__NR_clone, SIGCHLD, 0, 0, 0, 0), "fork the command");
  if (cmd == 0) command_main();
  call(__NR_close, p.stdout_fd);
  call(__NR_close, p.stderr_fd);
  for (;;) {
    int status = 0;
    long pid = call(__NR_wait4, -1, &status, __WALL, 0);
    if (pid == cmd) {
      // earth takes the layer as soon as it has the status, before this
      // process has exited: nothing may write to it any more. So every
      // process left in the namespace is killed and reaped first.
      call(__NR_kill, -1, SIGKILL);
      for (long rc; (rc = call(__NR_wait4, -1, 0, __WALL, 0)) >= 0 || rc == -EINTR;) {
      }
      send_report(Report::exited, 0, status, "", nullptr);
      exit_now(0);
    }
    if (pid < 0 && pid != -EINTR) fail(static_cast<int>(-pid), "waitpid");
  }
}

} // namespace

// The entry point: the kernel's initial stack holds argc, then argv.
extern "C" [[noreturn]] __attribute__((used)) void earth_init_start(long* sp) {
  init_main(static_cast<int>(sp[0]), reinterpret_cast<char**>(sp + 1));
}

#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call earth_init_start\n"
        "  hlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  and sp, x0, #-16\n"
        "  bl earth_init_start\n"
        "  brk #0\n");
#endif
