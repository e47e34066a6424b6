// Docker's default seccomp profile (moby profiles/seccomp/default.json),
// evaluated for the capabilities a RUN keeps: an allow list, everything else
// fails with EPERM. Capability-gated groups are included only for the kept
// capabilities (CAP_SYS_CHROOT: chroot); clone may not make namespaces and
// clone3 says ENOSYS, so libc falls back to clone, as without CAP_SYS_ADMIN.
//
// Compiled at build time only, by earth_seccomp_gen (seccomp_gen_main.cc),
// into earth's own bitmap program (compile_bitmap), with libseccomp naming
// the numbers; libseccomp's own program of the same rules is what the
// tests hold it to. earth embeds the program (seccomp_filter.cc) and
// neither loads libseccomp nor compiles anything at run time.
#include "seccomp_rules.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace earth::exec::detail {

namespace {

// Names unknown to this architecture are skipped, as Docker does.
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "chroot", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
    "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev", "pselect6",
    "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
    // Architecture-specific entries of the profile; unknown names are skipped.
    "arch_prctl", "modify_ldt", "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
    "breakpoint", "cacheflush", "set_tls", "riscv_flush_icache"};

// personality(2) personas the profile allows: PER_LINUX, PER_LINUX32,
// UNAME26, UNAME26|PER_LINUX32, and the query 0xffffffff.
constexpr scmp_datum_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|
// CLONE_NEWPID|CLONE_NEWNET: clone may make none of these.
constexpr scmp_datum_t kNamespaceFlags = 0x7E020000;
constexpr scmp_datum_t kAfVsock = 40;

// This machine's architecture and the 32-bit ones that run on it.
std::vector<uint32_t> arches() {
  uint32_t native = seccomp_arch_native();
  // 32-bit programs run too, as under Docker.
  if (native == SCMP_ARCH_X86_64) return {native, SCMP_ARCH_X86, SCMP_ARCH_X32};
  if (native == SCMP_ARCH_AARCH64) return {native, SCMP_ARCH_ARM};
  return {native};
}

Result<void> add_rules(scmp_filter_ctx ctx) {
  for (uint32_t arch : arches())
    if (arch != seccomp_arch_native()) seccomp_arch_add(ctx, arch);
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR) seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  }
  int rc =
      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, kAfVsock));
  for (scmp_datum_t persona : kPersonalities)
    if (rc == 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                            SCMP_A0(SCMP_CMP_EQ, persona));
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0));
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return Failure{errno_message("seccomp: add rule", -rc)};
  return {};
}

// --- the bitmap program

// A classic BPF program with labels, resolved when it is done.
class Assembler {
public:
  using Label = size_t;
  static constexpr Label kNext = SIZE_MAX; // the next instruction
  Label label() {
    bound_.push_back(SIZE_MAX);
    return bound_.size() - 1;
  }
  void bind(Label l) { bound_[l] = code_.size(); }
  void stmt(uint16_t code, uint32_t k) { code_.push_back(BPF_STMT(code, k)); }
  void jump(uint16_t op, uint32_t k, Label yes, Label no) {
    fixes_.push_back({code_.size(), yes, no});
    code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
  }
  void jump_always(Label to) {
    fixes_.push_back({code_.size(), to, kNext});
    code_.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
  }
  Result<std::vector<sock_filter>> finish() {
    for (const auto& f : fixes_) {
      auto offset = [&](Label l) -> std::optional<size_t> {
        if (l == kNext) return 0;
        if (bound_[l] == SIZE_MAX || bound_[l] <= f.at) return std::nullopt;
        return bound_[l] - f.at - 1;
      };
      auto yes = offset(f.yes), no = offset(f.no);
      sock_filter& i = code_[f.at];
      if (!yes || !no) return Failure{"seccomp: a jump backwards or to nowhere"};
      if (BPF_OP(i.code) == BPF_JA) {
        i.k = uint32_t(*yes);
        continue;
      }
      if (*yes > 255 || *no > 255) return Failure{"seccomp: a jump too far for classic BPF"};
      i.jt = uint8_t(*yes);
      i.jf = uint8_t(*no);
    }
    if (code_.size() > BPF_MAXINSNS) return Failure{"seccomp: the program is too long"};
    return std::move(code_);
  }

private:
  struct Fix {
    size_t at;
    Label yes, no;
  };
  std::vector<sock_filter> code_;
  std::vector<size_t> bound_;
  std::vector<Fix> fixes_;
};

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kDeny = SECCOMP_RET_ERRNO | EPERM;
constexpr uint32_t kNoSys = SECCOMP_RET_ERRNO | ENOSYS;
constexpr uint32_t kNrAt = offsetof(seccomp_data, nr);
constexpr uint32_t kArchAt = offsetof(seccomp_data, arch);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "args' words are read little-endian");
constexpr uint32_t kArg0Low = offsetof(seccomp_data, args[0]);
constexpr uint32_t kArg0High = kArg0Low + 4;
// Numbers below this go in the bitmap; the rest (ARM's private calls at
// 0xf0000) are compared one by one.
constexpr uint32_t kDenseLimit = 1024;

// What one ABI allows: its numbers relative to `base` (x32's bit), and
// the absolute numbers of the calls allowed on a condition.
struct AbiPolicy {
  uint32_t audit_arch = 0;
  uint32_t base = 0;
  bool wide = true; // 64-bit arguments: a condition checks both words
  std::set<uint32_t> allowed;
  std::set<uint32_t> socket, personality, clone, clone3;
};

// Every number of the ABI named by an allowed name: the name's number, and
// every number below kDenseLimit that libseccomp names so (i386's direct
// socket calls, whose names resolve to socketcall's pseudo numbers).
AbiPolicy policy_of(uint32_t arch) {
  AbiPolicy p;
  p.audit_arch = arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
  p.base = arch == SCMP_ARCH_X32 ? 0x40000000u : 0;
  p.wide = arch == SCMP_ARCH_X86_64 || arch == SCMP_ARCH_AARCH64;
  std::map<std::string, std::set<uint32_t>*, std::less<>> sets{{"socket", &p.socket},
                                                               {"personality", &p.personality},
                                                               {"clone", &p.clone},
                                                               {"clone3", &p.clone3}};
  auto add = [&](std::string_view name, uint32_t nr) {
    if (auto it = sets.find(name); it != sets.end())
      it->second->insert(nr);
    else if (std::find(std::begin(kAllowed), std::end(kAllowed), name) != std::end(kAllowed))
      p.allowed.insert(nr - p.base);
  };
  for (const char* name : kAllowed)
    if (int nr = seccomp_syscall_resolve_name_arch(arch, name); nr >= 0) add(name, uint32_t(nr));
  for (const auto& [name, set] : sets)
    if (int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str()); nr >= 0)
      add(name, uint32_t(nr));
  for (uint32_t nr = p.base; nr < p.base + kDenseLimit; ++nr)
    if (char* name = seccomp_syscall_resolve_num_arch(arch, int(nr))) {
      add(name, nr);
      std::free(name);
    }
  return p;
}

// Where an ABI's tests lead: its returns, and its conditional calls.
struct Exits {
  Assembler::Label allow, deny, conditional;
};

// The numbers allowed whatever the arguments: A (the number less the ABI's
// base) tested against the bitmap, the numbers past it one by one.
void emit_allowed(Assembler& a, const AbiPolicy& p, const Exits& to) {
  Assembler::Label allow = to.allow, conditional = to.conditional;
  auto sparse = a.label();
  if (p.base) a.stmt(BPF_ALU | BPF_SUB | BPF_K, p.base);
  uint32_t words = 1;
  for (uint32_t nr : p.allowed)
    if (nr < kDenseLimit) words = std::max(words, nr / 32 + 1);
  a.jump(BPF_JGE, words * 32, sparse, Assembler::kNext);
  // X = nr % 32; A = the word of nr / 32, by a binary search; then its bit.
  a.stmt(BPF_ST, 0);
  a.stmt(BPF_ALU | BPF_AND | BPF_K, 31);
  a.stmt(BPF_MISC | BPF_TAX, 0);
  a.stmt(BPF_LD | BPF_MEM, 0);
  a.stmt(BPF_ALU | BPF_RSH | BPF_K, 5);
  auto bit = a.label();
  auto word_of = [&](uint32_t w) {
    uint32_t bits = 0;
    for (uint32_t i = 0; i < 32; ++i) bits |= uint32_t(p.allowed.contains(w * 32 + i)) << i;
    return bits;
  };
  auto search = [&](auto& self, uint32_t lo, uint32_t hi) -> void {
    if (hi - lo == 1) {
      uint32_t bits = word_of(lo);
      if (bits == 0) return a.jump_always(conditional);
      if (bits == UINT32_MAX) return a.jump_always(allow);
      a.stmt(BPF_LD | BPF_IMM, bits);
      return a.jump_always(bit);
    }
    uint32_t mid = lo + (hi - lo) / 2;
    auto right = a.label();
    a.jump(BPF_JGE, mid, right, Assembler::kNext);
    self(self, lo, mid);
    a.bind(right);
    self(self, mid, hi);
  };
  search(search, 0, words);
  a.bind(bit);
  a.stmt(BPF_ALU | BPF_RSH | BPF_X, 0);
  a.jump(BPF_JSET, 1, allow, conditional);
  a.bind(sparse);
  for (uint32_t nr : p.allowed)
    if (nr >= kDenseLimit) a.jump(BPF_JEQ, nr, allow, Assembler::kNext);
}

// The calls allowed on conditions, by their absolute numbers, then the
// ABI's returns.
void emit_conditions(Assembler& a, const AbiPolicy& p, const Exits& to) {
  auto [allow, deny, conditional] = to;
  a.bind(conditional);
  a.stmt(BPF_LD | BPF_W | BPF_ABS, kNrAt);
  auto on_socket = a.label(), on_personality = a.label(), on_clone = a.label();
  auto no_sys = a.label();
  for (auto [numbers, to] :
       {std::pair{&p.socket, on_socket}, std::pair{&p.personality, on_personality},
        std::pair{&p.clone, on_clone}, std::pair{&p.clone3, no_sys}})
    for (uint32_t nr : *numbers) a.jump(BPF_JEQ, nr, to, Assembler::kNext);
  a.jump_always(deny);
  // Each condition on the first argument: both its words when it is 64-bit.
  auto high_word_zero = [&](Assembler::Label otherwise) {
    if (!p.wide) return;
    a.stmt(BPF_LD | BPF_W | BPF_ABS, kArg0High);
    a.jump(BPF_JEQ, 0, Assembler::kNext, otherwise);
  };
  a.bind(on_socket); // any family but AF_VSOCK
  high_word_zero(allow);
  a.stmt(BPF_LD | BPF_W | BPF_ABS, kArg0Low);
  a.jump(BPF_JEQ, uint32_t(kAfVsock), deny, allow);
  a.bind(on_personality); // one of the personas
  high_word_zero(deny);
  a.stmt(BPF_LD | BPF_W | BPF_ABS, kArg0Low);
  for (scmp_datum_t persona : kPersonalities)
    a.jump(BPF_JEQ, uint32_t(persona), allow, Assembler::kNext);
  a.jump_always(deny);
  a.bind(on_clone); // no namespace flag (all in the low word)
  a.stmt(BPF_LD | BPF_W | BPF_ABS, kArg0Low);
  a.jump(BPF_JSET, uint32_t(kNamespaceFlags), deny, allow);
  a.bind(no_sys);
  a.stmt(BPF_RET | BPF_K, kNoSys);
  a.bind(allow);
  a.stmt(BPF_RET | BPF_K, kAllow);
  a.bind(deny);
  a.stmt(BPF_RET | BPF_K, kDeny);
}

// The ABI's section; A holds the system call number.
void emit_abi(Assembler& a, const AbiPolicy& p) {
  Exits to{a.label(), a.label(), a.label()};
  emit_allowed(a, p, to);
  emit_conditions(a, p, to);
}

// The same policy as add_rules: per ABI, a bitmap of the allowed numbers
// tested in a dozen instructions, then the conditional calls.
Result<std::vector<sock_filter>> compile_bitmap() {
  std::vector<AbiPolicy> abis;
  for (uint32_t arch : arches()) abis.push_back(policy_of(arch));
  Assembler a;
  a.stmt(BPF_LD | BPF_W | BPF_ABS, kArchAt);
  std::vector<Assembler::Label> sections;
  for (const auto& abi : abis) {
    sections.push_back(a.label());
    if (abi.base == 0) a.jump(BPF_JEQ, abi.audit_arch, sections.back(), Assembler::kNext);
  }
  a.stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD); // an ABI the filter does not know
  for (size_t i = 0; i < abis.size(); ++i) {
    if (abis[i].base != 0) continue; // reached from the ABI that shares its arch value
    a.bind(sections[i]);
    a.stmt(BPF_LD | BPF_W | BPF_ABS, kNrAt);
    for (size_t j = 0; j < abis.size(); ++j) // x32: x86-64 numbers with its bit set
      if (abis[j].base != 0 && abis[j].audit_arch == abis[i].audit_arch)
        a.jump(BPF_JGE, abis[j].base, sections[j], Assembler::kNext);
    emit_abi(a, abis[i]);
  }
  for (size_t i = 0; i < abis.size(); ++i)
    if (abis[i].base != 0) {
      a.bind(sections[i]);
      emit_abi(a, abis[i]);
    }
  return a.finish();
}

} // namespace

Result<std::vector<sock_filter>> compile_default_seccomp(SeccompLayout layout) {
  if (layout == SeccompLayout::bitmap) return compile_bitmap();
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return Failure{"seccomp: cannot create a filter"};
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  if (auto added = add_rules(ctx); !added) return Failure{added.error()};
  // libseccomp 2.5 exports only to a file descriptor.
  int fd = ::memfd_create("earth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Failure{errno_message("seccomp: memfd_create", errno)};
  std::vector<sock_filter> program;
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = rc == 0 ? ::lseek(fd, 0, SEEK_END) : -1;
  if (size > 0 && size % static_cast<off_t>(sizeof(sock_filter)) == 0) {
    program.resize(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(fd, program.data(), static_cast<size_t>(size), 0) != size) program.clear();
  }
  ::close(fd);
  if (program.empty()) return Failure{"seccomp: cannot export the filter"};
  return program;
}

} // namespace earth::exec::detail
