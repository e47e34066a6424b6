// RUN: a command in the sandbox, its changes kept as the step's layer.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "earth/resolve/expand.h"
#include "earth/resolve/scope.h"
#include "earth/store/file_lock.h"
#include "output_tail.h"
#include "run_flags.h"
#include "secrets.h"
#include "terminal.h"

namespace earth::build {

// The environment of a RUN: the image's ENV, then every ARG/LET in scope
// (Earthly passes build args to RUN as environment variables), as the
// recipe runs (TargetRun::run_env).
std::vector<std::string> run_env(TargetRun& t, const syntax::Command&) {
  return t.run_env();
}

namespace {

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
  std::vector<exec::TmpfsMount> tmpfs;
  std::vector<std::string> key_specs; // what enters the key
  std::vector<CacheDir> caches;       // their sharing decides the locks (take_locks)
  std::shared_ptr<StepSecrets> secrets = std::make_shared<StepSecrets>();
  size_t ssh_sockets = 0; // ssh agent sockets bound (ssh_mount)

  void add_cache(const CacheDir& c, std::string key_spec) {
    binds.push_back({c.host_dir, c.target, false});
    caches.push_back(c);
    key_specs.push_back(std::move(key_spec));
  }
};

// The host's SSH agent socket (SSH_AUTH_SOCK) bound at `target` (default
// /run/buildkit/ssh_agent.N, as BuildKit); the first one's path becomes
// SSH_AUTH_SOCK unless the step sets it. Neither enters the key (Earthly's
// rule): the same step with another agent, or without --ssh, is a hit.
void ssh_mount(TargetRun& t, const syntax::Command& cmd, const std::string& id, std::string target,
               Mounts& m) {
  if (!id.empty() && id != "default")
    t.fail(cmd,
           fmt::format("{}: only the default SSH agent is forwarded, not id '{}'", cmd.name, id));
  const std::string& sock = t.ctx().options.ssh_auth_sock;
  if (sock.empty())
    t.fail(cmd, fmt::format("{} forwards the SSH agent, but no agent is running here "
                            "(neither --ssh-auth-sock nor SSH_AUTH_SOCK is set: start one "
                            "with ssh-agent)",
                            cmd.name));
  struct stat st {};
  if (::stat(sock.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    t.fail(cmd, fmt::format("{} forwards the SSH agent, but its socket {} is not a socket",
                            cmd.name, sock));
  if (target.empty()) target = fmt::format("/run/buildkit/ssh_agent.{}", m.ssh_sockets);
  m.binds.push_back({sock, target, false});
  if (m.ssh_sockets++ == 0) m.secrets->add_plain_env("SSH_AUTH_SOCK", target);
}

// `type=cache,target=/x,id=…,sharing=…,mode=…`, `type=tmpfs,target=/x`,
// `type=secret,…` and `type=ssh[,id=…][,target=…]`.
void add_mount(TargetRun& t, const syntax::Command& cmd, const std::string& spec, Mounts& m) {
  std::string type, target, id, sharing = "locked", mode, size, uid = "0", gid = "0";
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
    else if (k == "size" || k == "tmpfs-size")
      size = v;
    else if (k == "uid" || k == "gid")
      (k == "uid" ? uid : gid) = v;
    else
      t.fail(cmd, fmt::format("RUN --mount: unknown key '{}' in '{}'", k, spec));
  }
  if (type == "ssh") return ssh_mount(t, cmd, id, target.empty() ? "" : t.in_workdir(target), m);
  if (target.empty()) t.fail(cmd, "RUN --mount needs target=PATH: " + spec);
  if (type != "secret" && (uid != "0" || gid != "0"))
    t.fail(cmd, "RUN --mount: uid and gid are for type=secret only: " + spec);
  target = t.in_workdir(target);
  if (type == "cache") {
    if (sharing != "locked" && sharing != "shared" && sharing != "private")
      t.fail(cmd, "RUN --mount sharing must be locked, shared or private, not " + sharing);
    CacheDir c = cache_dir(t, cmd, target, id, sharing, mode);
    m.add_cache(c, "cache:" + target + ":" + id + ":" + sharing + ":" + mode);
  } else if (type == "tmpfs") {
    uint64_t bytes = 0;
    if (!size.empty()) {
      char* end = nullptr;
      bytes = std::strtoull(size.c_str(), &end, 10);
      if (*end) t.fail(cmd, "RUN --mount size needs a number of bytes, not '" + size + "'");
    }
    m.tmpfs.push_back({target, bytes});
    m.key_specs.push_back("tmpfs:" + target + ":" + size);
  } else if (type == "secret") {
    m.secrets->add_file(t, cmd, id, target,
                        octal_mode(t, cmd, "mode", mode.empty() ? "0400" : mode), uid, gid);
  } else {
    t.fail(cmd,
           fmt::format("RUN --mount type must be cache, tmpfs, secret or ssh, not '{}'", type));
  }
}

} // namespace

Result<std::vector<store::FileLock>> take_cache_locks(TargetRun& t, exec::RunSpec& s,
                                                      const std::vector<CacheDir>& caches,
                                                      std::vector<std::string>& scratch) {
  std::vector<store::FileLock> held;
  for (const auto& c : caches) {
    if (c.sharing == "shared") continue;
    auto lock = c.sharing == "locked" ? store::FileLock::acquire(c.lock_path)
                                      : store::FileLock::try_acquire(c.lock_path);
    if (lock) {
      held.push_back(std::move(*lock));
      continue;
    }
    if (c.sharing == "locked") return Failure{lock.error()};
    auto fresh = fs::make_temp_dir(t.ctx().tmp_dir, "private-cache-");
    if (!fresh) return Failure{fresh.error()};
    scratch.push_back(*fresh);
    for (auto& b : s.mounts)
      if (b.source == c.host_dir) b.source = *fresh;
  }
  return held;
}

namespace {

// What the user can do about a failed command, where we can tell.
std::string failure_hint(const exec::RunResult& r, const std::vector<std::string>& tail,
                         bool privileged) {
  if (r.signal == 9 || (!r.signal && r.exit_status == 137))
    return "the command was killed (SIGKILL): out of memory?";
  if (!r.signal && r.exit_status == 127)
    return "a command was not found: is it installed in the image, and on its PATH?";
  if (!r.signal && r.exit_status == 126) return "a command is not executable (permissions?)";
  if (!privileged)
    for (const auto& l : tail)
      if (l.find("Operation not permitted") != std::string::npos)
        return "if the command needs privileges, use RUN --privileged and run earth with -P "
               "(--allow-privileged)";
  return {};
}

} // namespace

namespace {

// RUN --interactive[-keep]: the step reads earth's terminal, so there must
// be one, and it cannot be repeated (refused under --strict, as LOCALLY).
void check_interactive(TargetRun& t, const syntax::Command& cmd, bool keep) {
  const char* flag = keep ? "--interactive-keep" : "--interactive";
  if (t.ctx().options.strict)
    t.fail(cmd, fmt::format("RUN {} cannot be used with --strict or --ci (it cannot be repeated)",
                            flag));
  if (!::isatty(STDIN_FILENO))
    t.fail(cmd, fmt::format("RUN {} needs a terminal: earth's stdin is not one (run earth from "
                            "an interactive shell)",
                            flag));
}

} // namespace

Result<resolve::CommandFlags> parse_run_flags(const std::vector<std::string>& words,
                                              const resolve::ExpandFn& expand_bool) {
  return resolve::parse_command_flags("RUN", words, {"--mount", "--secret", "--network", "--oidc"},
                                      {"--no-cache", "--privileged", "--entrypoint", "--push",
                                       "--interactive", "--interactive-keep", "--ssh",
                                       "--with-docker", "--raw-output", "--aws"},
                                      expand_bool);
}

std::string literal_mount_type(const std::string& spec) {
  // Without variables, the shell lexer gives exactly what the RUN will see
  // (quotes and escapes removed); with them, the words as written.
  std::string text = spec;
  if (spec.find('$') == std::string::npos) {
    auto v = resolve::expand_word(spec, [](std::string_view) { return nullptr; });
    if (!v) return {}; // an unterminated quote: the RUN reports it
    text = std::move(v->text);
  }
  std::string type;
  for (const auto& part : split(text, ',')) {
    size_t eq = part.find('=');
    std::string key = part.substr(0, eq),
                value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (key.find_first_of("$\"'\\") != std::string::npos) return {};
    if (key != "type") continue;
    if (value.find_first_of("$\"'\\") != std::string::npos) return {};
    type = value; // the last one wins, as in add_mount
  }
  return type;
}

void cmd_run(TargetRun& t, const syntax::Command& cmd) {
  std::vector<std::string> words = cmd.args;
  resolve::CommandFlags f;
  if (!cmd.exec_mode) {
    auto parsed = parse_run_flags(words, [&](const std::string& v) { return t.expand(cmd, v); });
    if (!parsed) t.fail(cmd, parsed.error());
    f = std::move(parsed).value();
  }
  for (const char* unsupported : {"--with-docker"})
    if (f.has(unsupported)) t.fail(cmd, fmt::format("RUN {} is not supported yet", unsupported));
  if (!f.all("--oidc").empty())
    t.fail(cmd, "RUN --oidc is not supported (it needs AWS's OIDC role exchange): use RUN --aws "
                "with credentials in the environment or ~/.aws");
  if (f.has("--privileged") && !t.ctx().options.allow_privileged)
    t.fail_at(cmd.span, "RUN --privileged needs -P (--allow-privileged) on the command line", "",
              "run earth with -P to allow RUN --privileged (the step keeps every capability: "
              "only for Earthfiles you trust)");

  if (!t.env().started) t.fail(cmd, "RUN needs a FROM first");
  bool keep = f.has("--interactive-keep"), interactive = keep || f.has("--interactive");
  if (interactive) check_interactive(t, cmd, keep);
  words.erase(words.begin(), words.begin() + static_cast<long>(f.next));
  if (t.env().locally) return run_locally(t, cmd, f, words);

  exec::RunSpec spec;
  spec.privileged = f.has("--privileged") && t.ctx().options.allow_privileged;
  spec.argv = run_argv(t, cmd, words, f.has("--entrypoint"));
  spec.env = t.run_env();
  spec.cwd = t.env().config.working_dir.empty() ? "/" : t.env().config.working_dir;
  spec.user = t.env().config.user;
  spec.extra_hosts = t.env().hosts;
  std::string network = t.expand(cmd, f.last("--network", "default"));
  if (network == "none")
    spec.network = exec::Network::none;
  else if (network != "default" && network != "host")
    t.fail(cmd, "RUN --network must be none or default, not '" + network + "'");

  Mounts mounts;
  if (f.has("--ssh")) ssh_mount(t, cmd, "", "", mounts);
  for (const auto& m : f.all("--mount")) add_mount(t, cmd, t.expand(cmd, m), mounts);
  for (const auto& sec : f.all("--secret")) mounts.secrets->add_env(t, cmd, t.expand(cmd, sec));
  if (f.has("--aws")) mounts.secrets->add_aws(t, cmd);
  for (const auto& c : t.env().caches) mounts.add_cache(c, "CACHE:" + c.target);
  spec.mounts = mounts.binds;
  spec.tmpfs = mounts.tmpfs;

  plan::KeyBuilder kb("RUN", t.env().key);
  kb.add_list("argv", spec.argv)
      .add_list("env", spec.env)
      .add("cwd", spec.cwd)
      .add("user", spec.user)
      .add("network", network)
      .add("privileged", spec.privileged ? 1 : 0)
      .add_pairs("hosts", spec.extra_hosts)
      .add_list("mounts", mounts.key_specs);
  if (interactive) kb.add("interactive", 1); // its layer is no plain RUN's
  // Secret ids and where they go, never their values (Earthly's rule).
  if (!mounts.secrets->empty()) kb.add_list("secrets", mounts.secrets->key_specs());
  Digest key = kb.finish();
  if (f.has("--push"))
    return defer_run_push(t, cmd, std::move(spec), mounts.secrets, f.has("--raw-output"));
  if (f.has("--no-cache") || interactive) t.no_cache_from_here();
  // On a terminal the command gets a pty of its own; else earth's stdin.
  std::unique_ptr<Terminal> terminal;
  if (interactive && Terminal::available()) {
    auto opened = Terminal::open();
    if (!opened) t.fail(cmd, "RUN --interactive: " + opened.error());
    terminal = std::move(*opened);
    spec.stdin_fd = terminal->slave();
    spec.terminal = terminal->path();
  } else if (interactive) {
    spec.stdin_fd = STDIN_FILENO;
  }

  output::StepInfo si = t.info(cmd);
  si.raw_output = f.has("--raw-output") || interactive; // the session, as it is
  OutputTail tail(t, si);
  std::string dir = t.make_dir(cmd, key, [&](const std::string& upper) -> Result<void> {
    exec::RunSpec s = spec; // no work_dir: the runtime keeps the scratch in memory
    s.lower_dirs.push_back(t.ctx().stub_layer);
    std::vector<std::string> scratch;
    auto held = take_cache_locks(t, s, mounts.caches, scratch);
    if (!held) return Failure{held.error()};
    mounts.secrets->add_to_env(s.env);
    if (auto r = mounts.secrets->mount(s); !r) return r;
    s.lower_dirs.insert(s.lower_dirs.end(), t.env().layers.begin(), t.env().layers.end());
    s.upper_dir = upper;
    tail.attach(s);
    if (terminal) terminal->start();
    auto r = t.ctx().services.runtime.run(s);
    if (terminal) terminal->stop();
    tail.finish();
    for (const auto& d : scratch) t.ctx().trash.add(d);
    if (!r) return Failure{r.error()};
    if (r->interrupted) return Failure{"interrupted"};
    if (!r->success()) {
      if (t.keeping_failed()) keep_failed_upper(t, upper);
      std::string message = "the command " + describe_failure(*r);
      t.note_failure({message, r->signal || r->timed_out ? -1 : r->exit_status, tail.lines(),
                      failure_hint(*r, tail.lines(), spec.privileged)});
      return Failure{message};
    }
    return {};
  });
  if (interactive && !keep) return; // RUN --interactive: its changes are dropped
  t.env().layers.push_back(dir);
  t.env().key = key;
}

ProbeMounts add_run_mounts(TargetRun& t, const syntax::Command& cmd,
                           const std::vector<std::string>& mounts,
                           const std::vector<std::string>& secrets, exec::RunSpec& spec) {
  Mounts m;
  for (const auto& s : mounts) add_mount(t, cmd, t.expand(cmd, s), m);
  for (const auto& s : secrets) m.secrets->add_env(t, cmd, t.expand(cmd, s));
  spec.mounts.insert(spec.mounts.end(), m.binds.begin(), m.binds.end());
  spec.tmpfs.insert(spec.tmpfs.end(), m.tmpfs.begin(), m.tmpfs.end());
  return {m.key_specs, m.secrets, m.caches};
}

} // namespace earth::build
