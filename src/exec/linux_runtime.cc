// The parent side of the Linux sandbox: prepares the child's plan, clones
// PID 1 into its namespaces, maps the user when rootless, streams output
// line by line, enforces the timeout and reports how the command ended.
#include "earth/exec/linux_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/exec/user_db.h"
#include "layer_stubs.h"
#include "sandbox_child.h"
#include "sandbox_init_file.h"
#include "scratch.h"
#include "seccomp_filter.h"

namespace earth::exec {

namespace {

using Clock = std::chrono::steady_clock;

// PIDs of running sandboxes' PID 1, for interrupt_all_runs(), which may run
// in a signal handler: plain atomics, no locks.
constexpr int kMaxRuns = 256;
std::atomic<pid_t> g_running[kMaxRuns];
std::atomic<bool> g_interrupted{false};

// -1 when more than kMaxRuns sandboxes run at once: that one then dies only
// with earth (PR_SET_PDEATHSIG), not on interrupt_all_runs().
int register_run(pid_t pid) {
  for (int i = 0; i < kMaxRuns; ++i) {
    pid_t expected = 0;
    if (g_running[i].compare_exchange_strong(expected, pid)) return i;
  }
  return -1;
}

void unregister_run(int slot) {
  if (slot >= 0) g_running[slot].store(0);
}

// PIDs 1 that have reported and are exiting: tearing down a mount namespace
// and an overlayfs waits for RCU grace periods (milliseconds on a busy
// machine), which no run needs to wait for. They are reaped later, by
// whichever run comes next, without blocking.
std::mutex g_exiting_mutex;
std::vector<pid_t> g_exiting;

void reap_exited(pid_t also) {
  std::lock_guard lock(g_exiting_mutex);
  if (also > 0) g_exiting.push_back(also);
  std::erase_if(g_exiting, [](pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) != 0; });
}

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Owns every string the child's plan points into.
struct PlanStrings {
  std::string upper, work, empty_lower;
  std::string hosts_text, resolv_text, hostname, cwd;
  std::vector<std::string> lowers, argv, env, exec_paths;
  // Bind targets, then tmpfs targets: every mount point the sandbox makes.
  std::vector<std::string> bind_targets;
  std::vector<std::string> tmpfs_options;
  // earth-sandbox-init's argv (init_protocol.h).
  std::vector<std::string> init_args;
  std::vector<char*> init_argv;
};

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

Result<void> make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return Failure{errno_message("pipe2", errno)};
  read_end.fd = fds[0];
  write_end.fd = fds[1];
  return {};
}

std::string hosts_content(const RunSpec& spec, const std::string& hostname) {
  std::string out = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  out += "127.0.1.1\t" + hostname + "\n";
  for (const auto& [name, address] : spec.extra_hosts) out += address + "\t" + name + "\n";
  return out;
}

// The step's env with later entries winning (the image's ENV, then the
// step's), plus PATH and HOME when neither set them. execve would pass
// duplicates through and most programs would read the first.
std::vector<std::string> merged_env(const std::vector<std::string>& env, const ResolvedUser& user) {
  std::vector<std::string> out;
  auto set = [&](const std::string& entry) {
    std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    for (auto& e : out)
      if (std::string_view(e).substr(0, e.find('=')) == name) {
        e = entry;
        return;
      }
    out.push_back(entry);
  };
  for (const auto& e : env) set(e);
  auto has = [&](std::string_view name) {
    for (const auto& e : out)
      if (std::string_view(e).substr(0, e.find('=')) == name) return true;
    return false;
  };
  if (!has("PATH")) out.push_back(std::string("PATH=") + kDefaultPath);
  if (!has("HOME")) out.push_back("HOME=" + user.home);
  return out;
}

void build_exec_paths(PlanStrings& s) {
  const std::string& program = s.argv[0];
  if (program.find('/') != std::string::npos) {
    s.exec_paths.push_back(program);
    return;
  }
  std::string path = kDefaultPath;
  for (const auto& e : s.env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  for (const auto& dir : split(path, ':'))
    s.exec_paths.push_back(fs::join(dir.empty() ? "." : dir, program));
}

// Writes `text` in one write(2): /proc/PID/uid_map insists on it.
Result<void> write_proc_file(pid_t pid, const char* name, const std::string& text) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message("open " + path, errno)};
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Failure{errno_message("write " + path, err)};
  return {};
}

std::string empty_lower_for(const std::string& work_dir) {
  return fs::normalize(work_dir) + ".empty";
}

// Computes every string the child needs, here where allocating is allowed.
Result<void> prepare_strings(const RunSpec& spec, const std::string& upper, const std::string& work,
                             const ResolvedUser& user, PlanStrings& s) {
  s.upper = upper;
  s.work = work;
  for (auto it = spec.lower_dirs.rbegin(); it != spec.lower_dirs.rend(); ++it)
    s.lowers.push_back(*it);
  if (s.lowers.empty()) {
    // overlayfs needs a lower dir, and not one inside its workdir.
    s.empty_lower = empty_lower_for(work);
    if (::mkdir(s.empty_lower.c_str(), 0755) < 0)
      return Failure{errno_message("mkdir " + s.empty_lower, errno)};
    s.lowers.push_back(s.empty_lower);
  }
  s.hostname = spec.hostname.empty() ? "earth" : spec.hostname;
  s.hosts_text = hosts_content(spec, s.hostname);
  if (spec.network == Network::host) {
    auto host_resolv = fs::read_file("/etc/resolv.conf");
    if (host_resolv) s.resolv_text = *host_resolv;
  }
  s.cwd = fs::normalize(spec.cwd.empty() ? "/" : "/" + spec.cwd);
  s.argv = spec.argv;
  s.env = merged_env(spec.env, user);
  build_exec_paths(s);
  for (const auto& m : spec.mounts) s.bind_targets.push_back(fs::normalize("/" + m.target));
  for (const auto& t : spec.tmpfs) {
    s.bind_targets.push_back(fs::normalize("/" + t.target));
    std::string options = "mode=1777";
    if (t.size_bytes > 0) options += ",size=" + std::to_string(t.size_bytes);
    s.tmpfs_options.push_back(std::move(options));
  }
  return {};
}

// Points the child's plan into `s`.
void fill_plan(const RunSpec& spec, bool rootless, PlanStrings& s, detail::ChildPlan& plan) {
  plan.rootless = rootless;
  plan.network_none = spec.network == Network::none;
  plan.privileged = spec.privileged;
  plan.stdin_fd = spec.stdin_fd;
  plan.terminal = spec.terminal.empty() ? nullptr : spec.terminal.c_str();
  for (const auto& l : s.lowers) plan.lowers.push_back(l.c_str());
  plan.upper = s.upper.c_str();
  plan.work = s.work.c_str();
  plan.hostname = s.hostname.c_str();
  plan.hosts_text = s.hosts_text.c_str();
  plan.resolv_text = s.resolv_text.c_str();
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    plan.binds.push_back({spec.mounts[i].source.c_str(), s.bind_targets[i].c_str(),
                          spec.mounts[i].read_only, fs::is_dir(spec.mounts[i].source)});
  for (size_t i = 0; i < spec.tmpfs.size(); ++i)
    plan.binds.push_back({"tmpfs", s.bind_targets[spec.mounts.size() + i].c_str(), false, true,
                          s.tmpfs_options[i].c_str()});
  // A mount over a parent would hide one made before it in a child.
  std::stable_sort(plan.binds.begin(), plan.binds.end(),
                   [](const detail::BindPlan& a, const detail::BindPlan& b) {
                     return std::string_view(a.target) < std::string_view(b.target);
                   });
  plan.cwd = s.cwd.c_str();
}

// earth-sandbox-init's plan (init_protocol.h), once the pipes are open: in
// a memfd of its own, not on PID 1's command line, which every user of the
// host can read (the step's environment may hold secrets).
Result<void> write_init_plan(bool rootless, const ResolvedUser& user,
                             const detail::SeccompFile* seccomp, PlanStrings& s,
                             detail::ChildPlan& plan, Fd& plan_file) {
  std::string text;
  auto add = [&](std::string_view field) {
    text += field;
    text += '\0';
  };
  auto number = [&](auto n) { add(std::to_string(n)); };
  add("earth-sandbox-init");
  number(plan.report_fd);
  number(plan.stdout_fd);
  number(plan.stderr_fd);
  number(plan.stdin_fd);
  number(seccomp ? seccomp->fd : -1);
  number(seccomp ? seccomp->length : 0);
  number(rootless ? 0 : 1);
  number(user.uid);
  number(user.gid);
  number(user.groups.size());
  for (gid_t g : user.groups) number(g);
  number(s.exec_paths.size());
  for (const auto& path : s.exec_paths) add(path);
  number(s.env.size());
  for (const auto& e : s.env) add(e);
  add("--");
  for (const auto& arg : s.argv) add(arg);
  plan_file.fd = ::memfd_create("earth-sandbox-plan", MFD_CLOEXEC);
  if (plan_file.fd < 0) return Failure{errno_message("memfd_create", errno)};
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(plan_file.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Failure{errno_message("write the sandbox's plan", errno)};
    done += static_cast<size_t>(n);
  }
  s.init_args = {"earth-sandbox-init", std::to_string(plan.report_fd),
                 std::to_string(plan_file.fd)};
  for (auto& arg : s.init_args) s.init_argv.push_back(arg.data());
  s.init_argv.push_back(nullptr);
  plan.init_argv = s.init_argv.data();
  plan.plan_fd = plan_file.fd;
  plan.seccomp_fd = seccomp ? seccomp->fd : -1;
  return {};
}

// Rootless: the caller's single uid and gid become the step's user inside
// (root unless USER says otherwise); no other id exists in the namespace.
Result<void> map_user(pid_t pid, const ResolvedUser& user) {
  auto r = write_proc_file(pid, "setgroups", "deny");
  if (r)
    r = write_proc_file(pid, "uid_map",
                        std::to_string(user.uid) + " " + std::to_string(::geteuid()) + " 1\n");
  if (r)
    r = write_proc_file(pid, "gid_map",
                        std::to_string(user.gid) + " " + std::to_string(::getegid()) + " 1\n");
  return r;
}

// One output pipe, passed on as it comes to its byte sink and split into
// lines for its line sink.
struct Stream {
  Fd fd;
  std::string pending;
  const LineSink* sink = nullptr;
  const ByteSink* bytes = nullptr;

  void deliver(std::string_view line) {
    if (sink && *sink) (*sink)(line);
  }
  // Reads what is available; false at end of file.
  bool pump() {
    char buf[65536];
    ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) {
      if (!pending.empty()) deliver(pending);
      pending.clear();
      return false;
    }
    if (bytes && *bytes) (*bytes)(std::string_view(buf, static_cast<size_t>(n)));
    if (!sink || !*sink) return true;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      deliver(std::string_view(pending).substr(start, nl - start));
    pending.erase(0, start);
    constexpr size_t kMaxLine = 64 * 1024;
    while (pending.size() >= kMaxLine) {
      deliver(std::string_view(pending).substr(0, kMaxLine));
      pending.erase(0, kMaxLine);
    }
    return true;
  }
};

struct Session {
  pid_t pid = -1;
  Stream out, err;
  Fd report;
  std::vector<detail::Report> reports;
  bool timed_out = false;
  // PID 1 reported the command's end (every process of the sandbox is dead
  // then) or its own failure: it has nothing more to say.
  bool finished = false;
};

bool read_reports(Session& s) {
  detail::Report r;
  ssize_t n = ::read(s.report.fd, &r, sizeof r);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == static_cast<ssize_t>(sizeof r)) {
    s.reports.push_back(r);
    if (r.kind == detail::Report::exited || r.kind == detail::Report::setup_error)
      s.finished = true;
  }
  return n > 0;
}

// Streams output until everything holding the pipes is gone and PID 1 has
// reported (or died).
void pump_until_exit(Session& s, const RunSpec& spec, Clock::time_point start) {
  while (s.out.fd.fd >= 0 || s.err.fd.fd >= 0 || (s.report.fd >= 0 && !s.finished)) {
    int wait_ms = -1;
    if (spec.timeout.count() > 0 && !s.timed_out) {
      auto left = spec.timeout -
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      if (left.count() <= 0) {
        s.timed_out = true;
        ::kill(s.pid, SIGKILL);
      } else {
        wait_ms = static_cast<int>(left.count());
      }
    }
    pollfd fds[3] = {{s.out.fd.fd, POLLIN, 0},
                     {s.err.fd.fd, POLLIN, 0},
                     {s.finished ? -1 : s.report.fd, POLLIN, 0}};
    int n = ::poll(fds, 3, wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[0].revents && !s.out.pump()) s.out.fd.reset();
    if (fds[1].revents && !s.err.pump()) s.err.fd.reset();
    if (fds[2].revents && !read_reports(s)) s.report.reset();
  }
}

Result<RunResult> decode(const Session& s, int init_status, const RunSpec& spec) {
  RunResult result;
  result.timed_out = s.timed_out;
  result.interrupted = g_interrupted.load() && !s.timed_out;
  for (const auto& r : s.reports) {
    if (r.kind == detail::Report::setup_error)
      return Failure{errno_message(std::string("sandbox: ") + r.what, r.err)};
    if (r.kind == detail::Report::exec_error)
      return Failure{errno_message(std::string(r.what), r.err)};
  }
  int status = init_status;
  bool reported = false;
  for (const auto& r : s.reports)
    if (r.kind == detail::Report::exited) status = r.status, reported = true;
  if (reported) result.interrupted = false;
  if (WIFEXITED(status) && reported) {
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_status = 128 + result.signal;
  } else {
    return Failure{"sandbox: PID 1 of " + spec.argv[0] + " ended without a report"};
  }
  return result;
}

} // namespace

LinuxRuntime::LinuxRuntime() : rootless_(::geteuid() != 0) {
  static std::once_flag swept;
  std::call_once(swept, remove_dead_step_scratch);
}

namespace {
// Host process groups (LOCALLY), for interrupt_all_runs(): plain atomics.
constexpr int kMaxHostGroups = 64;
std::atomic<pid_t> g_host_groups[kMaxHostGroups];
std::atomic<bool> g_host_hit[kMaxHostGroups];
} // namespace

void interrupt_all_runs() {
  g_interrupted.store(true);
  for (auto& slot : g_running) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  for (int i = 0; i < kMaxHostGroups; ++i) {
    pid_t pgid = g_host_groups[i].load();
    if (pgid <= 0) continue;
    g_host_hit[i].store(true);
    ::kill(-pgid, SIGTERM);
  }
}

int watch_host_group(pid_t pgid) {
  for (int i = 0; i < kMaxHostGroups; ++i) {
    pid_t expected = 0;
    if (g_host_groups[i].compare_exchange_strong(expected, pgid)) {
      g_host_hit[i].store(false);
      // Interrupted before it was watched: as if the interrupt came now.
      if (g_interrupted.load()) {
        g_host_hit[i].store(true);
        ::kill(-pgid, SIGTERM);
      }
      return i;
    }
  }
  return -1;
}

bool host_group_interrupted(int slot) {
  return slot >= 0 && g_host_hit[slot].load();
}

void unwatch_host_group(int slot) {
  if (slot < 0) return;
  g_host_groups[slot].store(0);
}

bool runs_interrupted() {
  return g_interrupted.load();
}
void clear_interrupt() {
  g_interrupted.store(false);
}

// The parent's and the child's ends of the four pipes; the child's are closed
// in the parent once it runs.
struct Pipes {
  Fd sync_read, sync_write, out_write, err_write, report_write;
};

Result<void> open_pipes(Session& s, Pipes& p, detail::ChildPlan& plan) {
  for (auto [r, w] : {std::pair{&p.sync_read, &p.sync_write},
                      {&s.out.fd, &p.out_write},
                      {&s.err.fd, &p.err_write},
                      {&s.report, &p.report_write}})
    if (auto made = make_pipe(*r, *w); !made) return made;
  plan.sync_fd = p.sync_read.fd;
  plan.sync_write_fd = p.sync_write.fd;
  plan.report_fd = p.report_write.fd;
  plan.stdout_fd = p.out_write.fd;
  plan.stderr_fd = p.err_write.fd;
  return {};
}

Result<void> send_go(const Pipes& p) {
  char go = 1;
  if (::write(p.sync_write.fd, &go, 1) != 1) return Failure{errno_message("sandbox sync", errno)};
  return {};
}

// As root, the setup child shares earth's memory (CLONE_VM) and this thread
// sleeps until it execs earth-sandbox-init (CLONE_VFORK), as posix_spawn
// does: earth's page tables (hundreds of mappings) are not copied for a
// process that is about to exec. Rootless, this thread must write the
// child's uid_map while the child waits, so the child gets a copy.
Result<pid_t> clone_sandbox(const RunSpec& spec, bool rootless, detail::ChildPlan& plan) {
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  if (spec.network == Network::none) flags |= CLONE_NEWNET;
  if (rootless)
    flags |= CLONE_NEWUSER;
  else
    flags |= CLONE_VM | CLONE_VFORK;
  constexpr size_t kStack = 256 * 1024;
  void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return Failure{errno_message("mmap sandbox stack", errno)};
  // No signal handler of earth's may run in the child, on its stack and in
  // earth's memory: everything stays blocked until the exec (PID 1 keeps
  // them blocked; the command starts with none blocked).
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::clone(detail::sandbox_init, static_cast<char*>(stack) + kStack, flags, &plan);
  int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  // The child has exec'd or exited (CLONE_VFORK), or has its own copy.
  ::munmap(stack, kStack);
  if (pid < 0) return Failure{errno_message("clone sandbox namespaces", err)};
  return pid;
}

// Runs the sandbox with overlayfs's upper and work dirs at `upper` and `work`.
static Result<RunResult> run_in(const RunSpec& spec, bool rootless, const std::string& upper,
                                const std::string& work) {
  auto init_fd = detail::sandbox_init_fd();
  if (!init_fd) return Failure{"sandbox: " + init_fd.error()};
  Result<detail::SeccompFile> seccomp = detail::SeccompFile{};
  if (!spec.privileged) seccomp = detail::default_seccomp_file();
  if (!seccomp) return Failure{"sandbox: " + seccomp.error()};
  if (g_interrupted.load()) {
    RunResult r;
    r.interrupted = true;
    return r;
  }
  auto start = Clock::now();
  auto user = resolve_user(spec.user, spec.lower_dirs);
  if (!user) return Failure{user.error()};

  PlanStrings strings;
  detail::ChildPlan plan;
  auto prepared = prepare_strings(spec, upper, work, *user, strings);
  if (prepared) fill_plan(spec, rootless, strings, plan);
  plan.init_fd = *init_fd;
  auto stubs = find_missing_mount_points(spec.lower_dirs, strings.bind_targets);
  struct Cleanup {
    const std::string& upper;
    const std::string& work;
    const std::vector<std::string>& stubs;
    ~Cleanup() {
      remove_mount_stubs(upper, stubs);
      clear_work_dir(work);
    }
  } cleanup{upper, work, stubs};
  if (!prepared) return Failure{prepared.error()};

  Session s;
  Pipes pipes;
  if (auto opened = open_pipes(s, pipes, plan); !opened) return Failure{opened.error()};
  if (plan.terminal) plan.stdout_fd = plan.stderr_fd = plan.stdin_fd; // all on the pty
  Fd plan_file;
  if (auto written = write_init_plan(rootless, *user, spec.privileged ? nullptr : &*seccomp,
                                     strings, plan, plan_file);
      !written)
    return Failure{written.error()};
  s.out.sink = &spec.on_stdout;
  s.err.sink = &spec.on_stderr;
  s.out.bytes = &spec.on_stdout_bytes;
  s.err.bytes = &spec.on_stderr_bytes;
  // As root nothing needs doing between clone and setup: the go byte is
  // already waiting, so PID 1 never sleeps on its parent. Rootless, it
  // waits until uid_map and gid_map are written.
  Result<void> released;
  if (!rootless) released = send_go(pipes);
  auto pid = clone_sandbox(spec, rootless, plan);
  if (!pid) return Failure{pid.error()};
  s.pid = *pid;
  int slot = register_run(s.pid);
  for (Fd* child_end :
       {&pipes.sync_read, &pipes.out_write, &pipes.err_write, &pipes.report_write, &plan_file})
    child_end->reset();
  if (rootless) {
    released = map_user(s.pid, *user);
    if (released) released = send_go(pipes);
  }
  // pipes.sync_write stays open until the end: PID 1 sees it hang up if
  // earth dies before PR_SET_PDEATHSIG is armed.
  if (!released || g_interrupted.load()) ::kill(s.pid, SIGKILL);
  pump_until_exit(s, spec, start);
  unregister_run(slot);
  int status = 0;
  if (s.finished)
    reap_exited(s.pid);
  else
    while (::waitpid(s.pid, &status, 0) < 0 && errno == EINTR) {
    }
  if (!released) return Failure{released.error()};
  auto result = decode(s, status, spec);
  if (result) result->duration = Clock::now() - start;
  return result;
}

namespace {

// Sets `seen` when a line of the command's output says ENOSPC.
void watch_for_no_space(RunSpec& spec, std::atomic<bool>& seen) {
  for (LineSink* sink : {&spec.on_stdout, &spec.on_stderr}) {
    if (!*sink) continue;
    *sink = [inner = std::move(*sink), &seen](std::string_view line) {
      if (line.find("No space left on device") != std::string_view::npos) seen = true;
      inner(line);
    };
  }
}

// A line of earth's own in the step's stderr.
void note(const RunSpec& spec, const std::string& line) {
  if (spec.on_stderr) spec.on_stderr(line);
  if (spec.on_stderr_bytes) spec.on_stderr_bytes(line + "\n");
}

Result<RunResult> finish_with(const RunSpec& spec, Scratch& scratch, Result<RunResult> result) {
  if (auto kept = scratch.finish(spec); !kept && result) return Failure{kept.error()};
  return result;
}

Result<RunResult> run_with(const RunSpec& spec, bool rootless, Scratch& scratch) {
  return finish_with(spec, scratch, run_in(spec, rootless, scratch.upper(), scratch.work()));
}

} // namespace

namespace {

// The layers without repeats, each kept at its topmost place: overlayfs
// refuses a dir given twice ("conflicting lowerdir path"), and a repeat
// below the same dir shows nothing the upper copy does not (the engine's
// empty steps all share one dir: docs/formats.md, "Empty steps").
std::vector<std::string> without_repeats(const std::vector<std::string>& lowers) {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  for (auto it = lowers.rbegin(); it != lowers.rend(); ++it)
    if (seen.insert(*it).second) out.push_back(*it);
  std::reverse(out.begin(), out.end());
  return out;
}

} // namespace

Result<RunResult> LinuxRuntime::run(const RunSpec& asked) {
  RunSpec deduped;
  auto lowers = without_repeats(asked.lower_dirs);
  bool repeats = lowers.size() != asked.lower_dirs.size();
  if (repeats) {
    deduped = asked;
    deduped.lower_dirs = std::move(lowers);
  }
  const RunSpec& spec = repeats ? deduped : asked;
  if (spec.argv.empty()) return Failure{"sandbox: empty command"};
  if (!fs::is_dir(spec.upper_dir))
    return Failure{"sandbox: upper dir " + spec.upper_dir + " is not a directory"};
  if (!spec.work_dir.empty() && !fs::is_dir(spec.work_dir))
    return Failure{"sandbox: work dir " + spec.work_dir + " is not a directory"};
  if (spec.mounts.size() + spec.tmpfs.size() > 64)
    return Failure{"sandbox: more than 64 bind and tmpfs mounts"};
  if (spec.lower_dirs.size() > detail::kMaxOverlayLayers)
    return Failure{"sandbox: " + std::to_string(spec.lower_dirs.size()) +
                   " layers, but overlayfs stacks at most " +
                   std::to_string(detail::kMaxOverlayLayers) +
                   " (squash the image, or build it in fewer steps)"};
  auto scratch = Scratch::make(spec);
  if (!scratch) return Failure{scratch.error()};
  if (!scratch->in_memory()) return run_with(spec, rootless_, *scratch);
  // A step that fills the memory scratch runs once more on disk, where it
  // would have had room (docs/sandbox.md, "Step scratch").
  std::atomic<bool> no_space = false;
  RunSpec watched = spec;
  watch_for_no_space(watched, no_space);
  auto result = run_in(watched, rootless_, scratch->upper(), scratch->work());
  bool failed = !result || !result->success();
  bool stopped = result && (result->interrupted || result->timed_out);
  if (!failed || stopped || !(no_space || scratch->nearly_full()))
    return finish_with(spec, *scratch, std::move(result));
  scratch->discard();
  note(spec,
       "earth: the step filled its memory scratch; running it again with the scratch on disk");
  auto disk = Scratch::make(spec, Scratch::Place::disk);
  if (!disk) return Failure{disk.error()};
  return run_with(spec, rootless_, *disk);
}

namespace {
void on_interrupt(int) {
  interrupt_all_runs();
}
} // namespace

void kill_runs_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

} // namespace earth::exec
