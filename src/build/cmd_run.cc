// RUN: a command in the sandbox, its changes kept as the step's layer.
#include <fmt/format.h>
#include <sys/stat.h>

#include <deque>
#include <mutex>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "earth/resolve/scope.h"
#include "earth/store/file_lock.h"

namespace earth::build {

namespace {

constexpr size_t kTailLines = 30;

// The environment of a RUN: the image's ENV, then every ARG/LET in scope
// (Earthly passes build args to RUN as environment variables).
std::vector<std::string> run_env(TargetRun& t, const syntax::Command& cmd) {
  for (const auto& b : t.scope())
    if (b.value.dynamic && resolve::lookup(t.scope(), b.name) == &b.value)
      t.fail(cmd, fmt::format("{}: values from shell-outs $(…) are not supported by the engine yet",
                              b.name));
  std::vector<std::string> env = t.env().config.env;
  for (const auto& [name, value] : resolve::visible_vars(t.scope())) {
    std::string entry = name + "=" + value;
    bool replaced = false;
    for (auto& e : env)
      if (e.starts_with(name + "=")) e = entry, replaced = true;
    if (!replaced) env.push_back(entry);
  }
  return env;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> run_argv(TargetRun& t, const syntax::Command& cmd,
                                  const std::vector<std::string>& words, bool entrypoint) {
  std::vector<std::string> argv;
  if (cmd.exec_mode) {
    if (entrypoint) argv = t.env().config.entrypoint;
    argv.insert(argv.end(), words.begin(), words.end());
    return argv;
  }
  std::string script;
  if (entrypoint)
    for (const auto& e : t.env().config.entrypoint) script += shell_quote(e) + " ";
  script += join(words, " ");
  return {"/bin/sh", "-c", script};
}

struct Mounts {
  std::vector<exec::BindMount> binds;
  std::vector<std::string> key_specs; // what enters the key
  std::vector<std::string> locks;     // lock files held while the command runs
  std::vector<std::string> scratch;   // temp dirs removed afterwards
};

// `type=cache,target=/x,id=…,sharing=…,mode=…` and `type=tmpfs,target=/x`.
void add_mount(TargetRun& t, const syntax::Command& cmd, const std::string& spec, Mounts& m) {
  std::string type, target, id, sharing = "locked", mode;
  for (const auto& part : split(spec, ',')) {
    size_t eq = part.find('=');
    std::string k = part.substr(0, eq), v = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (k == "type")
      type = v;
    else if (k == "target" || k == "dst" || k == "destination")
      target = v;
    else if (k == "id")
      id = v;
    else if (k == "sharing")
      sharing = v;
    else if (k == "mode" || k == "chmod")
      mode = v;
    else
      t.fail(cmd, fmt::format("RUN --mount: unknown key '{}' in '{}'", k, spec));
  }
  if (target.empty()) t.fail(cmd, "RUN --mount needs target=PATH: " + spec);
  target = t.in_workdir(target);
  if (type == "cache") {
    if (sharing != "locked" && sharing != "shared" && sharing != "private")
      t.fail(cmd, "RUN --mount sharing must be locked, shared or private, not " + sharing);
    // Without an id the cache belongs to this target instance and path.
    Hasher h("earth.cache-mount.v1");
    if (!id.empty()) {
      h.add("id", id);
    } else {
      h.add("target", t.node().canonical).add("path", target);
      for (const auto& b : t.node().args) h.add("arg", b.name).add("value", b.value.text);
    }
    std::string dir = fs::join(t.ctx().mounts_dir, h.finish().hex());
    if (auto r = fs::make_dirs(dir); !r) t.fail(cmd, r.error());
    if (!mode.empty()) ::chmod(dir.c_str(), static_cast<mode_t>(std::stoul(mode, nullptr, 8)));
    m.binds.push_back({dir, target, false});
    if (sharing == "locked") m.locks.push_back(dir + ".lock");
    m.key_specs.push_back("cache:" + target + ":" + id + ":" + sharing + ":" + mode);
  } else if (type == "tmpfs") {
    auto dir = fs::make_temp_dir(t.ctx().tmp_dir, "tmpfs-");
    if (!dir) t.fail(cmd, dir.error());
    m.binds.push_back({*dir, target, false});
    m.scratch.push_back(*dir);
    m.key_specs.push_back("tmpfs:" + target);
  } else if (type == "secret" || type == "ssh") {
    t.fail(cmd, fmt::format("RUN --mount type={} is not supported yet", type));
  } else {
    t.fail(cmd, fmt::format("RUN --mount type must be cache or tmpfs, not '{}'", type));
  }
}

// Lines of output: shown as they come, the last few kept for the error.
class OutputTail {
public:
  OutputTail(TargetRun& t, output::StepInfo si) : t_(t), si_(std::move(si)) {}
  exec::LineSink sink() {
    return [this](std::string_view line) {
      t_.ctx().services.status.step_output(si_, line);
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
      if (lines_.size() > kTailLines) lines_.pop_front();
    };
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += "  | " + l + "\n";
    return out;
  }

private:
  TargetRun& t_;
  output::StepInfo si_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
};

std::string describe_failure(const exec::RunResult& r) {
  if (r.timed_out) return "timed out";
  if (r.signal) return fmt::format("was killed by signal {}", r.signal);
  return fmt::format("exited with status {}", r.exit_status);
}

} // namespace

void cmd_run(TargetRun& t, const syntax::Command& cmd) {
  std::vector<std::string> words = cmd.args;
  resolve::CommandFlags f;
  if (!cmd.exec_mode)
    f = t.flags(cmd, words, {"--mount", "--secret", "--network", "--oidc"},
                {"--no-cache", "--privileged", "--entrypoint", "--push", "--interactive",
                 "--interactive-keep", "--ssh", "--with-docker", "--raw-output", "--aws"});
  for (const char* unsupported : {"--push", "--interactive", "--interactive-keep", "--ssh",
                                  "--with-docker", "--aws", "--raw-output"})
    if (f.has(unsupported)) t.fail(cmd, fmt::format("RUN {} is not supported yet", unsupported));
  if (!f.all("--secret").empty() || !f.all("--oidc").empty())
    t.fail(cmd, "RUN --secret is not supported yet");
  if (f.has("--privileged")) {
    if (!t.ctx().options.allow_privileged)
      t.fail(cmd, "RUN --privileged needs -P (--allow-privileged) on the command line");
    t.fail(cmd, "RUN --privileged is not supported yet");
  }
  if (!t.env().started) t.fail(cmd, "RUN needs a FROM first");
  words.erase(words.begin(), words.begin() + static_cast<long>(f.next));

  exec::RunSpec spec;
  spec.argv = run_argv(t, cmd, words, f.has("--entrypoint"));
  spec.env = run_env(t, cmd);
  spec.cwd = t.env().config.working_dir.empty() ? "/" : t.env().config.working_dir;
  spec.user = t.env().config.user;
  spec.extra_hosts = t.env().hosts;
  std::string network = t.expand(cmd, f.last("--network", "default"));
  if (network == "none")
    spec.network = exec::Network::none;
  else if (network != "default" && network != "host")
    t.fail(cmd, "RUN --network must be none or default, not '" + network + "'");

  Mounts mounts;
  for (const auto& m : f.all("--mount")) add_mount(t, cmd, t.expand(cmd, m), mounts);
  for (const auto& c : t.env().caches) {
    mounts.binds.push_back({c.host_dir, c.target, false});
    if (!c.lock_path.empty()) mounts.locks.push_back(c.lock_path);
    mounts.key_specs.push_back("CACHE:" + c.target);
  }
  spec.mounts = mounts.binds;

  Digest key = plan::KeyBuilder("RUN", t.env().key)
                   .add_list("argv", spec.argv)
                   .add_list("env", spec.env)
                   .add("cwd", spec.cwd)
                   .add("user", spec.user)
                   .add("network", network)
                   .add_pairs("hosts", spec.extra_hosts)
                   .add_list("mounts", mounts.key_specs)
                   .finish();
  if (f.has("--no-cache")) t.no_cache_from_here();

  OutputTail tail(t, t.info(cmd));
  std::string dir = t.make_dir(cmd, key, [&](const std::string& upper) -> Result<void> {
    auto work = fs::make_temp_dir(t.ctx().tmp_dir, "work-");
    if (!work) return Failure{work.error()};
    std::vector<store::FileLock> held;
    for (const auto& l : mounts.locks) {
      auto lock = store::FileLock::acquire(l);
      if (!lock) return Failure{lock.error()};
      held.push_back(std::move(*lock));
    }
    exec::RunSpec s = spec;
    s.lower_dirs = t.env().layers;
    s.upper_dir = upper;
    s.work_dir = *work;
    s.on_stdout = tail.sink();
    s.on_stderr = tail.sink();
    auto r = t.ctx().services.runtime.run(s);
    exec::remove_scratch(*work);
    for (const auto& d : mounts.scratch) exec::remove_scratch(d);
    if (!r) return Failure{r.error()};
    if (r->interrupted) return Failure{"interrupted"};
    if (!r->success())
      return Failure{fmt::format("the command {}\n{}", describe_failure(*r), tail.text())};
    return {};
  });
  t.env().layers.push_back(dir);
  t.env().key = key;
}

} // namespace earth::build
