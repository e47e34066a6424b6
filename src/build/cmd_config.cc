// Commands that change the image config or the environment of later RUNs,
// never the filesystem: each advances the environment's key.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/plan/keys.h"
#include "earth/resolve/scope.h"
#include "earth/store/usage.h"
#include "tree.h"

namespace earth::build {

namespace {

using syntax::CommandKind;

std::vector<std::string> expand_all(TargetRun& t, const syntax::Command& cmd, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < cmd.args.size(); ++i) out.push_back(t.expand(cmd, cmd.args[i]));
  return out;
}

// ENTRYPOINT/CMD/VOLUME: a JSON array as it is, else the shell form.
std::vector<std::string> exec_or_shell(TargetRun& t, const syntax::Command& cmd) {
  if (cmd.exec_mode) return cmd.args;
  return {"/bin/sh", "-c", join(cmd.args, " ")};
}

void set_env(image::RuntimeConfig& c, const std::string& name, const std::string& value) {
  for (auto& e : c.env)
    if (e.starts_with(name + "=")) return (void)(e = name + "=" + value);
  c.env.push_back(name + "=" + value);
}

// "1m30s", "10s", "500ms" → nanoseconds; -1 when malformed.
int64_t parse_duration(std::string_view s) {
  int64_t total = 0;
  while (!s.empty()) {
    size_t n = 0;
    double v = 0;
    try {
      v = std::stod(std::string(s), &n);
    } catch (...) {
      return -1;
    }
    s.remove_prefix(n);
    int64_t unit = 0;
    for (auto [suffix, ns] : {std::pair<std::string_view, int64_t>{"ms", 1000000},
                              {"us", 1000},
                              {"ns", 1},
                              {"h", 3600000000000},
                              {"m", 60000000000},
                              {"s", 1000000000}})
      if (s.starts_with(suffix)) {
        unit = ns;
        s.remove_prefix(suffix.size());
        break;
      }
    if (unit == 0) return -1;
    total += static_cast<int64_t>(v * static_cast<double>(unit));
  }
  return total;
}

std::string healthcheck(TargetRun& t, const syntax::Command& cmd) {
  auto f =
      t.flags(cmd, cmd.args,
              {"--interval", "--timeout", "--start-period", "--retries", "--start-interval"}, {});
  std::vector<std::string> rest(cmd.args.begin() + static_cast<long>(f.next), cmd.args.end());
  nlohmann::json hc = nlohmann::json::object();
  if (rest.size() == 1 && rest[0] == "NONE") {
    hc["Test"] = {"NONE"};
    return hc.dump();
  }
  if (rest.empty() || rest[0] != "CMD") t.fail(cmd, "HEALTHCHECK needs NONE or CMD <command>");
  rest.erase(rest.begin());
  if (rest.empty()) t.fail(cmd, "HEALTHCHECK CMD needs a command");
  auto json_args = nlohmann::json::parse(join(rest, " "), nullptr, false);
  if (json_args.is_array()) {
    nlohmann::json test = {"CMD"};
    for (auto& a : json_args) test.push_back(a);
    hc["Test"] = test;
  } else {
    hc["Test"] = {"CMD-SHELL", join(rest, " ")};
  }
  for (auto [flag, field] : {std::pair{"--interval", "Interval"},
                             {"--timeout", "Timeout"},
                             {"--start-period", "StartPeriod"},
                             {"--start-interval", "StartInterval"}}) {
    std::string v = f.last(flag);
    if (v.empty()) continue;
    int64_t ns = parse_duration(t.expand(cmd, v));
    if (ns < 0)
      t.fail(cmd, fmt::format("HEALTHCHECK {}: '{}' is not a duration like 30s", flag, v));
    hc[field] = ns;
  }
  if (std::string r = f.last("--retries"); !r.empty()) {
    try {
      hc["Retries"] = std::stoi(t.expand(cmd, r));
    } catch (...) {
      t.fail(cmd, "HEALTHCHECK --retries needs a number, not '" + r + "'");
    }
  }
  return hc.dump();
}

void labels(TargetRun& t, const syntax::Command& cmd, image::RuntimeConfig& c) {
  auto words = expand_all(t, cmd);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    size_t eq = w.find('=');
    if (eq != std::string::npos && eq > 0) {
      c.labels[w.substr(0, eq)] = w.substr(eq + 1);
    } else if (i + 2 < words.size() && words[i + 1] == "=") {
      c.labels[w] = words[i + 2];
      i += 2;
    } else {
      t.fail(cmd, fmt::format("LABEL needs key=value pairs, not '{}'", w));
    }
  }
}

void cache(TargetRun& t, const syntax::Command& cmd) {
  auto f = t.flags(cmd, cmd.args, {"--sharing", "--id", "--mode", "--chmod"}, {"--persist"});
  if (f.next + 1 != cmd.args.size()) t.fail(cmd, "CACHE needs exactly one path");
  std::string target = t.in_workdir(t.expand(cmd, cmd.args[f.next]));
  std::string sharing = t.expand(cmd, f.last("--sharing", "locked"));
  if (sharing != "locked" && sharing != "shared" && sharing != "private")
    t.fail(cmd, "CACHE --sharing must be locked, shared or private, not " + sharing);
  std::string id = t.expand(cmd, f.last("--id"));
  std::string mode = t.expand(cmd, f.last("--mode", f.last("--chmod")));
  CacheDir c = cache_dir(t, cmd, target, id, sharing, mode);
  if (f.has("--persist")) c.persist = &cmd;
  t.env().caches.push_back(c);
  t.env().key = plan::KeyBuilder("CACHE", t.env().key)
                    .add("path", target)
                    .add("id", id)
                    .add("sharing", sharing)
                    .add("mode", mode)
                    .add("persist", c.persist ? 1 : 0)
                    .finish();
}

} // namespace

void cmd_config(TargetRun& t, const syntax::Command& cmd) {
  auto& env = t.env();
  auto& c = env.config;
  plan::KeyBuilder key(cmd.name, env.key);
  switch (cmd.kind) {
  case CommandKind::arg:
  case CommandKind::let:
  case CommandKind::set:
    return; // the resolver evaluated them; RUN sees them through the scope
  case CommandKind::env: {
    auto kv = resolve::split_key_value(cmd.args, 0);
    if (kv.name.empty()) t.fail(cmd, "ENV needs a name");
    std::string value = kv.value ? t.expand(cmd, *kv.value) : "";
    set_env(c, kv.name, value);
    key.add("name", kv.name).add("value", value);
    break;
  }
  case CommandKind::workdir: {
    if (cmd.args.size() != 1) t.fail(cmd, "WORKDIR needs exactly one path");
    c.working_dir = t.in_workdir(t.expand(cmd, cmd.args[0]));
    key.add("dir", c.working_dir);
    break;
  }
  case CommandKind::user:
    if (cmd.args.size() != 1) t.fail(cmd, "USER needs exactly one user");
    c.user = t.expand(cmd, cmd.args[0]);
    key.add("user", c.user);
    break;
  case CommandKind::entrypoint:
    c.entrypoint = exec_or_shell(t, cmd);
    key.add_list("entrypoint", c.entrypoint);
    break;
  case CommandKind::cmd:
    c.cmd = exec_or_shell(t, cmd);
    key.add_list("cmd", c.cmd);
    break;
  case CommandKind::expose:
    for (auto p : expand_all(t, cmd)) {
      if (p.find('/') == std::string::npos) p += "/tcp";
      if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), p) == c.exposed_ports.end())
        c.exposed_ports.push_back(p);
      key.add("port", p);
    }
    break;
  case CommandKind::label:
    labels(t, cmd, c);
    for (const auto& [k, v] : c.labels) key.add("label", k).add("value", v);
    break;
  case CommandKind::volume:
    for (const auto& v : cmd.exec_mode ? cmd.args : expand_all(t, cmd)) {
      if (std::find(c.volumes.begin(), c.volumes.end(), v) == c.volumes.end())
        c.volumes.push_back(v);
      key.add("volume", v);
    }
    break;
  case CommandKind::healthcheck:
    c.healthcheck = healthcheck(t, cmd);
    key.add("healthcheck", c.healthcheck);
    break;
  case CommandKind::host: {
    auto words = expand_all(t, cmd);
    if (words.size() != 2) t.fail(cmd, "HOST needs a name and an address");
    env.hosts.emplace_back(words[0], words[1]);
    key.add("name", words[0]).add("address", words[1]);
    break;
  }
  case CommandKind::cache:
    return cache(t, cmd);
  default:
    t.fail(cmd, cmd.name + " is not a config command");
  }
  env.key = key.finish();
}

void persist_caches(TargetRun& t) {
  if (t.env().key == t.env().persisted) return; // nothing ran since the last time
  bool any = false;
  for (const CacheDir& c : t.env().caches) {
    if (!c.persist) continue;
    // Keyed by the state it was made from: a rerun with every step reused
    // reuses the layer too, like the RUNs that filled the cache.
    Digest key = plan::KeyBuilder("CACHE --persist", t.env().key).add("path", c.target).finish();
    std::string dir = t.make_dir(*c.persist, key, [&](const std::string& layer) -> Result<void> {
      if (auto r = make_parents(layer, c.target); !r) return r;
      CopyOptions o;
      o.keep_ts = true;
      o.keep_own = true;
      return copy_entry(LayerView({c.host_dir}), "/", layer + c.target, o);
    });
    t.env().layers.push_back(dir);
    t.env().key = key;
    any = true;
  }
  if (any) t.env().persisted = t.env().key;
}

mode_t octal_mode(TargetRun& t, const syntax::Command& cmd, std::string_view flag,
                  const std::string& text) {
  char* end = nullptr;
  unsigned long m = std::strtoul(text.c_str(), &end, 8);
  if (text.empty() || *end || m > 07777)
    t.fail(cmd, fmt::format("{} needs an octal mode like 0755, not '{}'", flag, text));
  return static_cast<mode_t>(m);
}

CacheDir cache_dir(TargetRun& t, const syntax::Command& cmd, const std::string& target,
                   const std::string& id, const std::string& sharing, const std::string& mode) {
  Hasher h("earth.cache-mount.v1");
  if (!id.empty()) {
    h.add("id", id);
  } else {
    h.add("target", t.node().canonical).add("path", target);
    for (const auto& b : t.node().args) h.add("arg", b.name).add("value", b.value.text);
  }
  Digest digest = h.finish();
  std::string dir = fs::join(t.ctx().mounts_dir, digest.hex());
  // Leased before it is made or used: prune leaves it alone from now on.
  (void)store::record_use(t.ctx().options.cache_dir, store::EntryKind::mount, digest.hex());
  if (auto r = fs::make_dirs(dir); !r) t.fail(cmd, r.error());
  if (!mode.empty()) ::chmod(dir.c_str(), octal_mode(t, cmd, cmd.name + " mode", mode));
  return {target, dir, dir + ".lock", sharing};
}

} // namespace earth::build
