// Commands run in the build environment for a value rather than a layer:
// `$( … )` shell-outs (their stdout) and IF conditions (their exit status).
// Each runs like a RUN — the target's current filesystem, env, workdir,
// user, hosts and cache mounts (locked as RUN locks them) — and its changes
// are dropped. Each is a step keyed like a RUN (plan::KeyBuilder): its
// result (stdout and exit status) is stored under the key, so a hit gives
// the value without starting a sandbox (reference §5.1: shell-outs are
// cached like RUNs); a condition keeps only its exit status. After
// LOCALLY one runs on the host instead, in the Earthfile's directory, and is
// never cached (reference §2.5). A shell-out that could read a secret is
// never stored either, and its value is secret-derived (docs/language.md
// "Secrets").
#include <fmt/format.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "locally.h"
#include "output_tail.h"

namespace earth::build {

namespace {

struct Outcome {
  int status = 0;
  std::string out;
};

// Whether an exit status is a result (stored) or a failure of the command.
using Accept = std::function<Result<void>(int status, const std::string& stderr_tail)>;

// After LOCALLY: `p` on the host in the Earthfile's directory with the
// host's environment, as a LOCALLY RUN; shown as a step, never cached.
std::string trim_trailing_newlines(std::string s) {
  while (s.ends_with('\n') || s.ends_with('\r')) s.pop_back();
  return s;
}

// `derived`: its stdout is a secret-derived value (redacted from its
// stderr too, held until the command ended).
Outcome run_probe_on_host(TargetRun& t, const syntax::Command& shown, const Probe& p,
                          const Accept& accept, bool derived) {
  for (bool refused : {!p.mounts.empty(), p.privileged})
    if (refused)
      t.fail(shown, fmt::format("{} {} cannot be used after LOCALLY (the command runs on the host)",
                                shown.name, p.privileged ? "--privileged" : "--mount"));
  StepSecrets secrets;
  for (const auto& sec : p.secrets) secrets.add_env(t, shown, t.expand(shown, sec));
  std::vector<std::string> env = t.run_env();
  secrets.add_to_env(env);
  auto& ctx = t.ctx();
  output::StepInfo si = t.info(shown);
  if (!t.result().shown) {
    t.result().shown = true;
    ctx.services.status.target_started(t.name());
  }
  ctx.services.status.step_started(si);
  OutputTail tail(t, si);
  std::string out, held;
  exec::ByteSink err = tail.stderr_sink();
  if (derived) err = [&](std::string_view b) { held.append(b); };
  auto r = run_on_host(
      p.argv, host_env(env), t.env().config.working_dir, [&](std::string_view b) { out.append(b); },
      err, [&] { return stopping(t); });
  if (derived) {
    ctx.redact.add(trim_trailing_newlines(out));
    tail.stderr_sink()(held);
  }
  tail.finish();
  if (!r) t.fail(shown, ctx.redact(r.error()));
  if (r->interrupted) throw BuildError("interrupted", ExitCode::interrupted);
  Result<void> ok = r->signal ? Failure{"the command " + describe_failure(*r) + " (LOCALLY)"}
                              : accept(r->exit_status, tail.text());
  if (!ok) {
    const std::string& e = ok.error();
    size_t nl = e.find('\n');
    t.fail_at(shown.span, e.substr(0, nl) + " (LOCALLY, on the host)",
              nl == std::string::npos ? "" : e.substr(nl + 1));
  }
  ctx.services.status.step_finished(si, r->duration);
  ++ctx.steps_run;
  t.mark_ran();
  return {r->exit_status, std::move(out)};
}

// Whether a command could read a secret: it is given one (--secret), or
// its command or environment holds a secret-derived value.
bool could_read_secret(TargetRun& t, const Probe& p, const std::vector<std::string>& env) {
  if (!p.secrets.empty()) return true;
  const Redactor& r = t.ctx().redact;
  if (r.empty()) return false;
  auto any = [&](const std::vector<std::string>& v) {
    return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return r.found_in(s); });
  };
  return any(p.argv) || any(env);
}

// Why --explain says a shell-out that could read a secret ran.
constexpr const char* kSecretRerun =
    "it could read a secret, so its output is never stored and it runs on every build";

// `what`: the command's stdout is its value (a shell-out) or only its exit
// status counts (a condition, whose stdout is dropped). A value that could
// hold a secret is never stored: the command runs on every build, and its
// value joins the redactor (shown as ***, explain records keep a digest).
Outcome run_probe(TargetRun& t, const syntax::Command& shown, std::string_view op, const Probe& p,
                  const Accept& accept, bool value) {
  if (!t.env().started)
    t.fail(shown, fmt::format("{} runs in the build environment: it needs a FROM first", op));
  std::vector<std::string> env = t.run_env();
  bool secret = could_read_secret(t, p, env);
  if (t.env().locally) return run_probe_on_host(t, shown, p, accept, value && secret);
  if (p.privileged && !t.ctx().options.allow_privileged)
    t.fail(shown, fmt::format("{} --privileged needs -P (--allow-privileged) on the command line",
                              shown.name));
  exec::RunSpec spec;
  spec.argv = p.argv;
  spec.env = std::move(env);
  spec.cwd = t.env().config.working_dir.empty() ? "/" : t.env().config.working_dir;
  spec.user = t.env().config.user;
  spec.extra_hosts = t.env().hosts;
  spec.privileged = p.privileged;
  ProbeMounts pm = add_run_mounts(t, shown, p.mounts, p.secrets, spec);
  std::vector<std::string> mounts = pm.key_specs;
  for (const auto& c : t.env().caches) {
    spec.mounts.push_back({c.host_dir, c.target, false});
    pm.caches.push_back(c);
    mounts.push_back("CACHE:" + c.target);
  }
  Digest key = plan::KeyBuilder(op, t.env().key)
                   .add_list("argv", spec.argv)
                   .add_list("env", spec.env)
                   .add("cwd", spec.cwd)
                   .add("user", spec.user)
                   .add("privileged", spec.privileged ? 1 : 0)
                   .add_pairs("hosts", spec.extra_hosts)
                   .add_list("mounts", mounts)
                   .add_list("secrets", pm.secrets->key_specs()) // ids, never values
                   .finish();
  Outcome o;
  bool derived = value && secret; // the value is secret-derived
  auto run = [&]() -> Result<void> {
    auto upper = fs::make_temp_dir(t.ctx().tmp_dir, "probe-");
    if (!upper) return Failure{upper.error()};
    auto work = fs::make_temp_dir(t.ctx().tmp_dir, "work-");
    if (!work) return Failure{work.error()};
    exec::RunSpec s = spec;
    s.lower_dirs.push_back(t.ctx().stub_layer);
    s.lower_dirs.insert(s.lower_dirs.end(), t.env().layers.begin(), t.env().layers.end());
    s.upper_dir = *upper;
    s.work_dir = *work;
    std::vector<std::string> scratch;
    auto held = take_cache_locks(t, s, pm.caches, scratch);
    if (!held) return Failure{held.error()};
    OutputTail tail(t, t.info(shown));
    tail.attach(s, false);
    s.on_stdout_bytes = [&](std::string_view bytes) {
      if (value) o.out.append(bytes);
    };
    // A secret-derived value is known once the command ended: its stderr
    // (which may print the value too) is held until then.
    std::string held_err;
    if (derived) s.on_stderr_bytes = [&](std::string_view bytes) { held_err.append(bytes); };
    pm.secrets->add_to_env(s.env);
    if (auto m = pm.secrets->mount(s); !m) return m;
    auto r = t.ctx().services.runtime.run(s);
    if (derived) {
      t.ctx().redact.add(trim_trailing_newlines(o.out));
      tail.stderr_sink()(held_err);
    }
    tail.finish();
    pm.secrets->remove_files();
    for (const auto& d : scratch) t.ctx().trash.add(d);
    t.ctx().trash.add(*work);
    t.ctx().trash.add(*upper);
    if (!r) return Failure{r.error()};
    if (r->interrupted) return Failure{"interrupted"};
    if (r->timed_out || r->signal)
      return Failure{fmt::format("the command was killed (signal {})", r->signal)};
    o.status = r->exit_status;
    return accept(r->exit_status, tail.text());
  };
  if (derived) {
    t.run_unstored(shown, key, kSecretRerun, run);
    return o;
  }
  std::string dir = t.make_dir(shown, key, [&](const std::string& result) -> Result<void> {
    if (auto r = run(); !r) return r;
    if (value)
      if (auto w = fs::write_file_atomic(fs::join(result, "stdout"), o.out); !w) return w;
    return fs::write_file_atomic(fs::join(result, "status"), std::to_string(o.status));
  });
  auto status = fs::read_file(fs::join(dir, "status"));
  auto out = value ? fs::read_file(fs::join(dir, "stdout")) : Result<std::string>(std::string());
  if (!out || !status) t.fail(shown, fmt::format("the stored result of {} is unreadable", op));
  return {std::atoi(status->c_str()), std::move(*out)};
}

} // namespace

std::string shell_out(TargetRun& t, const syntax::Command& cmd, const std::string& command,
                      Probe p) {
  p.argv = {"/bin/sh", "-c", command};
  auto accept = [&](int status, const std::string& lines) -> Result<void> {
    if (status == 0) return {};
    return Failure{fmt::format("the shell-out $({}) exited with status {}{}", command, status,
                               lines.empty() ? "" : "\nits last lines of output:\n" + lines)};
  };
  return run_probe(t, cmd, "shell-out", p, accept, true).out;
}

int probe_status(TargetRun& t, const syntax::Command& shown, const Probe& p) {
  auto accept = [&](int status, const std::string& lines) -> Result<void> {
    // A condition that cannot start is an error, not "false".
    if (status == 126 || status == 127)
      return Failure{fmt::format("the condition could not run (exit status {}: {}){}", status,
                                 status == 127 ? "command not found" : "not executable",
                                 lines.empty() ? "" : "\nits last lines of output:\n" + lines)};
    return {};
  };
  return run_probe(t, shown, shown.name, p, accept, false).status;
}

} // namespace earth::build
