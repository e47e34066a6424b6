// LOCALLY: commands on the host (locally.h). RUN runs a host process in the
// Earthfile's directory; SAVE ARTIFACT reads host paths and COPY writes
// into host paths (cmd_save.cc, cmd_copy.cc look at EnvState::locally);
// nothing is cached (TargetRun::cache_off).
#include "locally.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "commands.h"
#include "earth/base/strings.h"
#include "earth/exec/linux_runtime.h"
#include "output_tail.h"
#include "secrets.h"

extern char** environ; // the host environment LOCALLY RUNs start from

namespace earth::build {

namespace {

// A NULL-terminated array of pointers into `v`, made before fork: the
// child of a threaded process may only make async-signal-safe calls.
std::vector<char*> c_array(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// `name` found in the PATH of `env` (or the host's default), as execvp would.
std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  for (const auto& dir : split(path, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// How long a stopped LOCALLY command has between SIGTERM and SIGKILL.
constexpr std::chrono::seconds kStopGrace{3};

} // namespace

std::vector<std::string> host_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto& x : extra) {
    std::string name = x.substr(0, x.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
    env.push_back(x);
  }
  return env;
}

Result<exec::RunResult> run_on_host(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env, const std::string& cwd,
                                    const exec::ByteSink& out, const exec::ByteSink& err,
                                    const std::function<bool()>& cancelled) {
  if (argv.empty()) return Failure{"nothing to run"};
  int po[2], pe[2];
  if (::pipe2(po, O_CLOEXEC) != 0) return Failure{errno_message("pipe", errno)};
  if (::pipe2(pe, O_CLOEXEC) != 0) {
    ::close(po[0]), ::close(po[1]);
    return Failure{errno_message("pipe", errno)};
  }
  std::string program = find_program(argv[0], env);
  std::vector<char*> args = c_array(argv), envp = c_array(env);
  std::string no_cwd = "earth: LOCALLY: cannot enter " + cwd + "\n";
  std::string no_exec = "earth: LOCALLY: cannot run " + argv[0] + "\n";
  auto start = std::chrono::steady_clock::now();
  pid_t earth = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Failure{errno_message("fork", errno)};
  if (pid == 0) { // only async-signal-safe calls from here on
    ::setpgid(0, 0);
    // earth killed outright (SIGKILL): the command is told too.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != earth) ::_exit(127);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(po[1], 1);
    ::dup2(pe[1], 2);
    if (::chdir(cwd.c_str()) != 0) {
      (void)!::write(2, no_cwd.data(), no_cwd.size());
      ::_exit(127);
    }
    ::execve(program.c_str(), args.data(), envp.data());
    (void)!::write(2, no_exec.data(), no_exec.size());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(po[1]), ::close(pe[1]);
  int watched = exec::watch_host_group(pid);
  pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  exec::RunResult r;
  int open_fds = 2;
  char buf[65536];
  std::chrono::steady_clock::time_point stopped_at;
  while (open_fds > 0) {
    bool stop = exec::host_group_interrupted(watched) || (cancelled && cancelled());
    if (stop && !r.interrupted) { // SIGTERM now, SIGKILL after the grace period
      ::kill(-pid, SIGTERM);
      r.interrupted = true;
      stopped_at = std::chrono::steady_clock::now();
    } else if (r.interrupted && std::chrono::steady_clock::now() - stopped_at > kStopGrace) {
      ::kill(-pid, SIGKILL);
    }
    if (::poll(fds, 2, 100) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        const exec::ByteSink& sink = i == 0 ? out : err;
        if (sink) sink(std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL); // what the command left running in its group
  r.interrupted = r.interrupted || exec::host_group_interrupted(watched);
  exec::unwatch_host_group(watched);
  r.duration = std::chrono::steady_clock::now() - start;
  if (WIFEXITED(status)) {
    r.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.exit_status = 128 + r.signal;
  }
  return r;
}

void cmd_locally(TargetRun& t, const syntax::Command& cmd) {
  if (t.ctx().options.strict)
    t.fail(cmd, "LOCALLY is not allowed with --strict or --ci: its commands run on the host, "
                "where earth cannot make them repeatable");
  EnvState env;
  env.started = true;
  env.locally = true;
  env.config.working_dir = t.file().abs_dir;
  t.env() = std::move(env);
}

void check_locally(TargetRun& t, const syntax::Command& cmd) {
  using K = syntax::CommandKind;
  switch (cmd.kind) {
  case K::run:
  case K::copy:
  case K::save_artifact:
  case K::build:
  case K::from:
  case K::locally:
  case K::arg:
  case K::let:
  case K::set:
  case K::env:
  case K::import:
  case K::version:
  case K::project:
  case K::function:
  case K::command:
    return;
  default:
    t.fail(cmd, fmt::format("{} cannot be used after LOCALLY: under LOCALLY only RUN, COPY and "
                            "SAVE ARTIFACT work (put a FROM first to build an image)",
                            cmd.name));
  }
}

void run_locally(TargetRun& t, const syntax::Command& cmd, const resolve::CommandFlags& f,
                 const std::vector<std::string>& words) {
  for (const char* refused : {"--mount", "--network", "--entrypoint", "--privileged"})
    if (f.has(refused) || !f.all(refused).empty())
      t.fail(cmd, fmt::format("RUN {} cannot be used after LOCALLY (the command runs on the "
                              "host)",
                              refused));
  auto secrets = std::make_shared<StepSecrets>();
  for (const auto& sec : f.all("--secret")) secrets->add_env(t, cmd, t.expand(cmd, sec));
  std::vector<std::string> argv = words;
  if (!cmd.exec_mode) argv = {"/bin/sh", "-c", join(words, " ")};
  std::vector<std::string> extra = run_env(t, cmd);
  std::string cwd = t.file().abs_dir;
  output::StepInfo si = t.info(cmd);
  si.raw_output = f.has("--raw-output");
  auto act = [argv, extra, cwd, si, secrets, &cmd](TargetRun& t) {
    auto& ctx = t.ctx();
    if (!t.result().shown) {
      t.result().shown = true;
      ctx.services.status.target_started(t.name());
    }
    ctx.services.status.step_started(si);
    std::vector<std::string> env = extra;
    secrets->add_to_env(env);
    OutputTail tail(t, si);
    auto r = run_on_host(argv, host_env(env), cwd, tail.stdout_sink(), tail.stderr_sink(),
                         [&] { return stopping(t); });
    tail.finish();
    if (!r) t.fail(cmd, ctx.redact(r.error()));
    if (r->interrupted) {
      output::StepFailure stopped;
      stopped.message = "stopped: the build failed or was interrupted (SIGTERM to its process "
                        "group, SIGKILL after 3s)";
      ctx.services.status.step_failed(si, stopped);
      throw BuildError("interrupted", ExitCode::interrupted);
    }
    if (!r->success()) {
      std::string lines = tail.text();
      t.fail_at(cmd.span, "the command " + describe_failure(*r) + " (LOCALLY, on the host)",
                lines.empty() ? "" : "its last lines of output:\n" + lines);
    }
    ctx.services.status.step_finished(si, r->duration);
    ++ctx.steps_run;
    t.mark_ran();
  };
  if (f.has("--push")) {
    PushAction p;
    p.what = "RUN --push " + join(words, " ");
    p.act = [act](TargetRun& t, output::BuildTotals&) { act(t); };
    t.result().pushes.push_back(std::move(p));
    return;
  }
  act(t);
}

void copy_to_host(TargetRun& t, const syntax::Command& cmd,
                  const std::function<Result<void>()>& copy) {
  auto& ctx = t.ctx();
  output::StepInfo si = t.info(cmd);
  if (!t.result().shown) {
    t.result().shown = true;
    ctx.services.status.target_started(t.name());
  }
  ctx.services.status.step_started(si);
  auto start = std::chrono::steady_clock::now();
  if (auto r = copy(); !r) t.fail(cmd, r.error());
  ctx.services.status.step_finished(si, std::chrono::steady_clock::now() - start);
  ++ctx.steps_run;
  t.mark_ran();
}

} // namespace earth::build
