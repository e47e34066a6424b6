// The sandbox's setup: the clone()d child of a multi-threaded earth that
// builds the namespaces' mounts and root, then execs earth-sandbox-init
// (sandbox_init_main.cc) as the sandbox's PID 1. As root it shares earth's
// memory (CLONE_VM|CLONE_VFORK: no page tables copied, earth's thread waits
// until the exec), so only system calls are allowed here: no malloc, no
// stdio, no writes to anything but this thread's own stack and errno, no C++
// containers beyond reading the parent's prepared plan.
#include "sandbox_child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace earth::exec::detail {

namespace {

// Per earth thread: a setup child uses the TLS of the thread that cloned it
// (which sleeps meanwhile), so concurrent sandboxes never share this.
thread_local const ChildPlan* g_plan = nullptr;

// The host device nodes bind-mounted into the sandbox's /dev.
constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
constexpr int kDevNodeCount = sizeof kDevNodes / sizeof kDevNodes[0];

// Masked as Docker masks /proc: host-wide kernel state a build has no
// business reading (keyrings, timers, kernel memory, interrupt counts). Files
// get /dev/null bound over them, directories an empty read-only tmpfs.
constexpr const char* kMaskedPaths[] = {"/proc/acpi",        "/proc/asound", "/proc/interrupts",
                                        "/proc/kcore",       "/proc/keys",   "/proc/latency_stats",
                                        "/proc/sched_debug", "/proc/scsi",   "/proc/timer_list",
                                        "/proc/timer_stats"};
// And its read-only ones: writes there reach the host's kernel.
constexpr const char* kReadOnlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                          "/proc/sysrq-trigger"};

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
  ssize_t n;
  do n = ::write(g_plan->report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(const char* what, const char* detail = nullptr) {
  send_report(Report::setup_error, errno, 0, what, detail);
  ::_exit(127);
}

void check(int rc, const char* what, const char* detail = nullptr) {
  if (rc < 0) fail(what, detail);
}

// mkdir -p inside the current root, without allocating. Returns false on
// failure when `must` is false; fails the setup otherwise.
bool make_dirs(const char* path, mode_t mode, bool must = true) {
  char buf[4096];
  size_t len = ::strnlen(path, sizeof buf - 1);
  ::memcpy(buf, path, len);
  buf[len] = '\0';
  for (size_t i = 1; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (::mkdir(buf, mode) < 0 && errno != EEXIST) {
      if (must) fail("mkdir", buf);
      return false;
    }
    buf[i] = saved;
  }
  return true;
}

// Makes sure a mount target exists. Returns false for a dangling symlink (a
// Debian image's /etc/resolv.conf -> ../run/...), and for an `optional` one
// the sandbox's root may not create (rootless, in a directory the caller
// does not own): nothing is mounted there.
bool ensure_target(const char* path, bool is_dir, bool optional = false) {
  struct stat st {};
  if (::stat(path, &st) == 0) return true;
  if (::lstat(path, &st) == 0) return false;
  char parent[4096];
  size_t len = ::strnlen(path, sizeof parent - 1);
  ::memcpy(parent, path, len);
  parent[len] = '\0';
  if (char* slash = ::strrchr(parent, '/'); slash && slash != parent) {
    *slash = '\0';
    if (!make_dirs(parent, 0755, !optional)) return false;
  }
  if (is_dir) return make_dirs(path, 0755, !optional);
  int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && optional) return false;
  check(fd, "create mount point", path);
  ::close(fd);
  return true;
}

// A detached copy of a host mount, opened before pivot_root hides the host.
int clone_host_path(const char* path, bool read_only, bool nodev) {
  int fd = static_cast<int>(
      ::open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  check(fd, "open_tree", path);
  if (read_only || nodev) {
    mount_attr attr{};
    attr.attr_set = (read_only ? MOUNT_ATTR_RDONLY : 0) | (nodev ? MOUNT_ATTR_NODEV : 0);
    check(::mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
          "mount_setattr", path);
  }
  return fd;
}

void attach(int fd, const char* target) {
  check(::move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS),
        "move_mount onto", target);
  ::close(fd);
}

void append_number(char* dst, size_t cap, unsigned n) {
  char digits[16];
  int len = 0;
  do digits[len++] = static_cast<char>('0' + n % 10);
  while ((n /= 10) != 0 && len < 15);
  char text[16];
  for (int i = 0; i < len; ++i) text[i] = digits[len - 1 - i];
  text[len] = '\0';
  append(dst, cap, text);
}

int open_layer(const char* path) {
  int fd = ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  check(fd, "open layer", path);
  return fd;
}

// overlayfs shows its lowerdir, upperdir and workdir in /proc/self/mountinfo
// exactly as given, so it is given no host path: each dir is opened here and
// named by its fd number, relative to /proc/self/fd (the kernel resolves
// relative layer names against the cwd, and follows the magic links to the
// real dirs). The command sees `lowerdir=9:8,upperdir=10,workdir=11`. With
// at most 500 layers and fds of at most 4 digits the option string always
// fits mount(2)'s page, and no path needs escaping.
// nodev: a device node in a layer, or one the command makes, opens nothing.
void mount_overlay(const ChildPlan& p) {
  static_assert(kMaxOverlayLayers * 5 + 128 < 4096);
  if (p.lowers.size() > kMaxOverlayLayers) {
    errno = E2BIG;
    fail("mount overlay: too many layers");
  }
  int fds[kMaxOverlayLayers + 2];
  size_t count = 0;
  char options[4096] = "lowerdir=";
  for (const char* lower : p.lowers) {
    fds[count] = open_layer(lower);
    if (count) append(options, sizeof options, ":");
    append_number(options, sizeof options, static_cast<unsigned>(fds[count++]));
  }
  fds[count] = open_layer(p.upper);
  append(options, sizeof options, ",upperdir=");
  append_number(options, sizeof options, static_cast<unsigned>(fds[count++]));
  fds[count] = open_layer(p.work);
  append(options, sizeof options, ",workdir=");
  append_number(options, sizeof options, static_cast<unsigned>(fds[count++]));
  // volatile: no syncfs of the whole upper filesystem at unmount, which
  // costs 15-20 ms per step; the store syncs layers it keeps (docs/sandbox.md).
  append(options, sizeof options, ",volatile");
  if (p.rootless) append(options, sizeof options, ",userxattr");
  check(::chdir("/proc/self/fd"), "chdir /proc/self/fd");
  check(::mount("overlay", p.work, "overlay", MS_NODEV, options), "mount overlay on", p.work);
  for (size_t i = 0; i < count; ++i) ::close(fds[i]);
}

constexpr unsigned long kProcFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// /proc of the new PID namespace, with the paths that reach host-wide kernel
// settings (/proc/sys, /proc/sysrq-trigger, ...) read-only unless privileged.
void mount_proc(bool privileged) {
  ensure_target("/proc", true);
  check(::mount("proc", "/proc", "proc", kProcFlags, nullptr), "mount proc on /proc");
  if (privileged) return;
  struct stat st {};
  for (const char* path : kReadOnlyPaths) {
    if (::lstat(path, &st) < 0) continue;
    check(::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr), "bind", path);
    check(::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kProcFlags, nullptr),
          "remount read-only", path);
  }
}

// After mount_dev: binds the sandbox's /dev/null over masked files.
void mask_proc_paths() {
  struct stat st {};
  for (const char* path : kMaskedPaths) {
    if (::lstat(path, &st) < 0) continue;
    if (S_ISDIR(st.st_mode))
      check(::mount("tmpfs", path, "tmpfs", MS_RDONLY | kProcFlags, "size=4k"), "mask", path);
    else
      check(::mount("/dev/null", path, nullptr, MS_BIND, nullptr), "mask", path);
  }
}

void mount_dev(const int (&node_fds)[kDevNodeCount]) {
  ensure_target("/dev", true);
  // nodev: only the host nodes bound below (each its own mount, keeping the
  // host's flags) open devices; a node made in /dev opens nothing.
  check(::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=65536k"),
        "mount tmpfs on /dev");
  char path[64];
  for (int i = 0; i < kDevNodeCount; ++i) {
    path[0] = '\0';
    append(path, sizeof path, "/dev/");
    append(path, sizeof path, kDevNodes[i]);
    // The tmpfs is new and empty: no lookups, no parents to make.
    int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    check(fd, "create mount point", path);
    ::close(fd);
    attach(node_fds[i], path);
  }
  check(::mkdir("/dev/pts", 0755), "mkdir /dev/pts");
  check(::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=0620"),
        "mount devpts on /dev/pts");
  check(::mkdir("/dev/shm", 01777), "mkdir /dev/shm");
  check(::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "mode=1777,size=65536k"),
        "mount tmpfs on /dev/shm");
  check(::symlink("pts/ptmx", "/dev/ptmx"), "symlink /dev/ptmx");
  check(::symlink("/proc/self/fd", "/dev/fd"), "symlink /dev/fd");
  check(::symlink("/proc/self/fd/0", "/dev/stdin"), "symlink /dev/stdin");
  check(::symlink("/proc/self/fd/1", "/dev/stdout"), "symlink /dev/stdout");
  check(::symlink("/proc/self/fd/2", "/dev/stderr"), "symlink /dev/stderr");
}

// RUN --interactive on a terminal: the pty slave earth made (`fd`, cloned
// from its host path) bound at that same path (/dev/pts/N) on a tmpfs over
// the sandbox's devpts, so that ttyname() finds the command's terminal.
void mount_terminal(const char* path, int fd) {
  check(
      ::mount("tmpfs", "/dev/pts", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k"),
      "mount tmpfs on /dev/pts");
  int f = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0620);
  check(f, "create mount point", path);
  ::close(f);
  attach(fd, path);
}

// Writes `text` into the sandbox's /dev tmpfs, binds it onto `target` and
// unlinks the source: the file lives in memory only, and writes to it (a
// build adding a hosts entry) never reach the layer.
void bind_text_file(const char* text, const char* target) {
  if (!ensure_target(target, false, true)) return;
  constexpr const char* kStaging = "/dev/.earth-staging";
  int fd = ::open(kStaging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  check(fd, "create", kStaging);
  size_t len = ::strlen(text);
  for (size_t done = 0; done < len;) {
    ssize_t n = ::write(fd, text + done, len - done);
    if (n < 0 && errno != EINTR) fail("write", kStaging);
    if (n > 0) done += static_cast<size_t>(n);
  }
  ::close(fd);
  check(::mount(kStaging, target, nullptr, MS_BIND, nullptr), "bind mount onto", target);
  check(::unlink(kStaging), "unlink", kStaging);
}

void loopback_up() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(s, "socket");
  ifreq ifr{};
  ::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  check(::ioctl(s, SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  check(::ioctl(s, SIOCSIFFLAGS, &ifr), "SIOCSIFFLAGS lo");
  ::close(s);
}

// Closes every fd but the plan's pipes and files: earth's other files (store
// locks, directories of the host) must not live on in the sandbox's PID 1.
void close_inherited_fds(const ChildPlan& p) {
  int keep[] = {p.report_fd, p.stdout_fd,  p.stderr_fd, p.stdin_fd,
                p.init_fd,   p.seccomp_fd, p.plan_fd};
  constexpr int n = sizeof keep / sizeof keep[0];
  // Sort the fds (-1 first, skipped); then close the gaps around them.
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < 0 || static_cast<unsigned>(fd) < next) continue;
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(next, ~0U, 0);
}

// Rootless, the step's user need not be root in the namespace, and then the
// exec would take PID 1's capabilities in it away: they go through as
// ambient ones (PID 1 clears them for the command).
void keep_capabilities_across_exec() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  check(static_cast<int>(::syscall(SYS_capget, &header, data)), "capget");
  for (auto& d : data) d.inheritable = d.permitted;
  check(static_cast<int>(::syscall(SYS_capset, &header, data)), "capset");
  for (int cap = 0; cap < 64; ++cap)
    if (data[cap / 32].permitted & (1U << (cap % 32)))
      ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

// PID 1 from here: earth-sandbox-init, from earth's memfd, with the report
// and output pipes and the seccomp filter's file open across the exec.
[[noreturn]] void exec_init(const ChildPlan& p) {
  for (int fd : {p.report_fd, p.stdout_fd, p.stderr_fd, p.stdin_fd, p.seccomp_fd, p.plan_fd})
    if (fd >= 0) check(::fcntl(fd, F_SETFD, 0), "keep open for the sandbox's init");
  if (p.rootless) keep_capabilities_across_exec();
  char* no_env[] = {nullptr};
  ::syscall(SYS_execveat, p.init_fd, "", p.init_argv, no_env, AT_EMPTY_PATH);
  fail("exec earth-sandbox-init");
}

} // namespace

int sandbox_init(void* arg) {
  g_plan = static_cast<const ChildPlan*>(arg);
  const ChildPlan& p = *g_plan;
  // Dies with the thread that cloned it. earth keeps the sync pipe open for
  // the whole run, so a hang-up after the go byte means it died before this
  // prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::close(p.sync_write_fd);
  char go = 0;
  if (::read(p.sync_fd, &go, 1) != 1) ::_exit(127);
  pollfd parent{p.sync_fd, POLLIN, 0};
  if (::poll(&parent, 1, 0) != 0) ::_exit(127);
  close_inherited_fds(p);
  // Not PR_SET_DUMPABLE here: as root this process shares earth's memory,
  // whose flag that is. earth-sandbox-init sets it once it has its own.

  // Nothing mounted from here on may propagate back to the host.
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
  check(::sethostname(p.hostname, ::strlen(p.hostname)), "sethostname");
  if (p.network_none) loopback_up();

  int node_fds[kDevNodeCount];
  char host_node[64];
  for (int i = 0; i < kDevNodeCount; ++i) {
    host_node[0] = '\0';
    append(host_node, sizeof host_node, "/dev/");
    append(host_node, sizeof host_node, kDevNodes[i]);
    node_fds[i] = clone_host_path(host_node, false, false);
  }
  int terminal_fd = p.terminal ? clone_host_path(p.terminal, false, false) : -1;
  int bind_fds[64];
  if (p.binds.size() > 64) {
    errno = E2BIG;
    fail("bind mounts");
  }
  for (size_t i = 0; i < p.binds.size(); ++i)
    bind_fds[i] = p.binds[i].tmpfs_options
                      ? -1
                      : clone_host_path(p.binds[i].source, p.binds[i].read_only, !p.privileged);

  mount_overlay(p);
  check(::chdir(p.work), "chdir", p.work);
  // pivot_root(".", ".") stacks the old root on top of the new one; /proc is
  // mounted while the host's /proc is still attached (the kernel wants a
  // fully visible procfs before it allows one in a user namespace), then the
  // old root is detached. From here on every path resolves inside the rootfs,
  // so a symlink in an image cannot point a mount at the host.
  check(::syscall(SYS_pivot_root, ".", "."), "pivot_root", p.work);
  mount_proc(p.privileged);
  check(::umount2(".", MNT_DETACH), "detach the host root");
  check(::chdir("/"), "chdir /");

  mount_dev(node_fds);
  if (terminal_fd >= 0) mount_terminal(p.terminal, terminal_fd);
  if (!p.privileged) mask_proc_paths();
  bind_text_file(p.hosts_text, "/etc/hosts");
  bind_text_file(p.resolv_text, "/etc/resolv.conf");
  for (size_t i = 0; i < p.binds.size(); ++i) {
    const BindPlan& b = p.binds[i];
    if (!ensure_target(b.target, b.is_dir)) continue;
    if (b.tmpfs_options)
      check(::mount("tmpfs", b.target, "tmpfs", MS_NOSUID | MS_NODEV, b.tmpfs_options),
            "mount tmpfs on", b.target);
    else
      attach(bind_fds[i], b.target);
  }

  if (p.cwd[0] != '/' || p.cwd[1] != '\0') make_dirs(p.cwd, 0755);
  check(::chdir(p.cwd), "chdir", p.cwd);
  exec_init(p);
}

} // namespace earth::exec::detail
