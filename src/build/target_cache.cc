// Target-level reuse: the target input key, and the records of successful
// runs under <cache>/targets/ (docs/formats.md#target-records).
#include "target_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "earth/base/fs.h"
#include "tree.h"

namespace earth::build {

namespace {

using nlohmann::json;
using syntax::CommandKind;

// Commands whose effect is fully decided by the target input key.
bool keyable(const syntax::Command& cmd) {
  switch (cmd.kind) {
  case CommandKind::run:
    for (const auto& a : cmd.args)
      for (std::string_view flag : {"--no-cache", "--push", "--interactive", "--secret", "--ssh",
                                    "--mount=type=secret", "--mount=type=ssh"})
        if (a.starts_with(flag)) return false;
    return true;
  case CommandKind::from:
  case CommandKind::copy:
  case CommandKind::save_artifact:
  case CommandKind::save_image:
  case CommandKind::build:
  case CommandKind::workdir:
  case CommandKind::env:
  case CommandKind::arg:
  case CommandKind::let:
  case CommandKind::set:
  case CommandKind::user:
  case CommandKind::entrypoint:
  case CommandKind::cmd:
  case CommandKind::expose:
  case CommandKind::label:
  case CommandKind::volume:
  case CommandKind::healthcheck:
  case CommandKind::host:
  case CommandKind::cache:
  case CommandKind::import:
  case CommandKind::version:
  case CommandKind::project:
    return true;
  default:
    return false;
  }
}

bool plain_recipe(const syntax::Block& block) {
  for (const auto& st : block) {
    const auto* cmd = std::get_if<syntax::Command>(&st.node);
    if (!cmd || !keyable(*cmd)) return false;
    if (cmd->kind == CommandKind::cache)
      for (const auto& a : cmd->args)
        if (a.starts_with("--persist")) return false;
  }
  return true;
}

// The build context as COPY sees it: every entry not ignored, with its
// type, permission bits, size and content (through the stat cache) or link
// target, directories composed from their entries.
Result<Digest> dir_digest(StatCache& files, const IgnoreRules& ignore, const std::string& abs,
                          const std::string& rel) {
  DIR* d = ::opendir(abs.c_str());
  if (!d) return Failure{errno_message("open " + abs, errno)};
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  Hasher h("earth.context.v1");
  for (const auto& n : names) {
    std::string child_rel = rel.empty() ? n : rel + "/" + n;
    if (!ignore.empty() && ignore.ignored(child_rel)) continue;
    std::string path = abs + "/" + n;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return Failure{errno_message("stat " + path, errno)};
    h.add("name", n).add("mode", int64_t(st.st_mode));
    if (S_ISREG(st.st_mode)) {
      auto c = files.digest(path, StatKey::of(st));
      if (!c) return c;
      h.add("size", int64_t(st.st_size)).add("content", *c);
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = ::readlink(path.c_str(), buf, sizeof buf);
      h.add("link", std::string_view(buf, len < 0 ? 0 : size_t(len)));
    } else if (S_ISDIR(st.st_mode)) {
      auto sub = dir_digest(files, ignore, path, child_rel);
      if (!sub) return sub;
      h.add("dir", *sub);
    }
  }
  return h.finish();
}

std::optional<Digest> context_digest(Context& ctx, const std::string& dir) {
  {
    std::lock_guard lock(ctx.memo_mu);
    if (auto it = ctx.context_digests.find(dir); it != ctx.context_digests.end()) return it->second;
  }
  auto ignore = IgnoreRules::load(dir);
  if (!ignore) return std::nullopt;
  auto d = dir_digest(*ctx.stat_cache, *ignore, dir, "");
  if (!d) return std::nullopt;
  std::lock_guard lock(ctx.memo_mu);
  ctx.context_digests.emplace(dir, *d);
  return *d;
}

// --- records

json config_json(const image::RuntimeConfig& c) {
  return {{"env", c.env},
          {"working_dir", c.working_dir},
          {"user", c.user},
          {"entrypoint", c.entrypoint},
          {"cmd", c.cmd},
          {"labels", c.labels},
          {"exposed_ports", c.exposed_ports},
          {"volumes", c.volumes},
          {"stop_signal", c.stop_signal},
          {"healthcheck", c.healthcheck}};
}

image::RuntimeConfig config_of(const json& j) {
  image::RuntimeConfig c;
  j.at("env").get_to(c.env);
  j.at("working_dir").get_to(c.working_dir);
  j.at("user").get_to(c.user);
  j.at("entrypoint").get_to(c.entrypoint);
  j.at("cmd").get_to(c.cmd);
  j.at("labels").get_to(c.labels);
  j.at("exposed_ports").get_to(c.exposed_ports);
  j.at("volumes").get_to(c.volumes);
  j.at("stop_signal").get_to(c.stop_signal);
  j.at("healthcheck").get_to(c.healthcheck);
  return c;
}

Digest digest_of(const json& j) {
  auto d = Digest::parse(j.get<std::string>());
  if (!d) throw std::runtime_error("bad digest");
  return *d;
}

json env_json(const EnvState& e) {
  json caches = json::array();
  for (const auto& c : e.caches)
    caches.push_back({{"target", c.target},
                      {"host_dir", c.host_dir},
                      {"lock_path", c.lock_path},
                      {"sharing", c.sharing}});
  return {{"key", e.key.hex()},
          {"base", e.base.manifest_digest.is_zero() ? "" : e.base.name},
          {"base_manifest", e.base.manifest_digest.hex()},
          {"layers", e.layers},
          {"own_from", e.own_from},
          {"config", config_json(e.config)},
          {"hosts", e.hosts},
          {"caches", caches},
          {"persisted", e.persisted.hex()},
          {"started", e.started}};
}

json tree_json(const ArtifactState& a) {
  return {{"key", a.key.hex()}, {"layers", a.layers}};
}

// Every dir exists (one stat each): a record whose step dirs were pruned is
// not used.
bool all_exist(const std::vector<std::string>& dirs) {
  struct stat st;
  for (const auto& d : dirs)
    if (::stat(d.c_str(), &st) != 0) return false;
  return true;
}

class Loader {
public:
  explicit Loader(Context& ctx) : ctx_(ctx) {}

  EnvState env(const json& j) {
    EnvState e;
    e.key = digest_of(j.at("key"));
    std::string base = j.at("base");
    if (!base.empty()) {
      auto rec = image(base);
      if (!rec || rec->manifest_digest != digest_of(j.at("base_manifest")))
        throw std::runtime_error("base image changed");
      e.base = *rec;
    }
    j.at("layers").get_to(e.layers);
    if (!all_exist(e.layers)) throw std::runtime_error("a layer is gone");
    e.own_from = j.at("own_from");
    e.config = config_of(j.at("config"));
    j.at("hosts").get_to(e.hosts);
    for (const auto& c : j.at("caches"))
      e.caches.push_back({c.at("target"), c.at("host_dir"), c.at("lock_path"), c.at("sharing")});
    e.persisted = digest_of(j.at("persisted"));
    e.started = j.at("started");
    return e;
  }

  ArtifactState tree(const json& j) {
    ArtifactState a;
    a.key = digest_of(j.at("key"));
    j.at("layers").get_to(a.layers);
    if (!all_exist(a.layers)) throw std::runtime_error("an artifact layer is gone");
    return a;
  }

private:
  // The image as the local store has it now (never pulled), once per build.
  std::optional<image::ImageRecord> image(const std::string& name) {
    {
      std::lock_guard lock(ctx_.memo_mu);
      if (auto it = ctx_.images_seen.find(name); it != ctx_.images_seen.end()) return it->second;
    }
    std::optional<image::ImageRecord> rec;
    if (auto r = ctx_.services.images.resolve(name, {.pull_if_missing = false})) rec = *r;
    std::lock_guard lock(ctx_.memo_mu);
    ctx_.images_seen.emplace(name, rec);
    return rec;
  }
  Context& ctx_;
};

} // namespace

std::optional<Digest> target_key(Context& ctx, resolve::NodeId id) {
  const auto& g = ctx.graph;
  const resolve::Node& node = g.nodes[id];
  if (ctx.options.no_cache || node.kind != resolve::Node::Kind::target) return std::nullopt;
  const resolve::LoadedFile& file = *g.files[node.file];
  const syntax::Block* recipe = nullptr;
  if (node.name == "base") {
    recipe = &file.ast.base_recipe;
  } else if (const auto* t = file.ast.find_target(node.name)) {
    recipe = &t->recipe;
  }
  if (!recipe || !plain_recipe(*recipe)) return std::nullopt;

  Hasher h(kTargetKeyDomain);
  h.add("canonical", node.canonical).add("name", node.name).add("platform", node.platform);
  h.add("privileged", ctx.options.allow_privileged ? 1 : 0);
  std::set<resolve::FileId> files{node.file};
  bool copies = false;
  for (const auto& s : node.steps) {
    if (s.depth > 0 || !s.command || !keyable(*s.command)) return std::nullopt; // DO: not yet
    if (s.file != resolve::kNone) files.insert(s.file);
    copies |= s.command->kind == CommandKind::copy;
  }
  // Where each Earthfile is (AS LOCAL paths and the names shown depend on
  // it), and its text.
  for (resolve::FileId f : files)
    h.add("dir", g.files[f]->abs_dir)
        .add("shown", g.files[f]->path)
        .add("earthfile", Digest::of(g.files[f]->source.text()));
  auto bindings = [&](std::string_view tag, const std::vector<resolve::Binding>& bs) {
    h.add(tag, int64_t(bs.size()));
    for (const auto& b : bs) {
      if (b.value.dynamic) return false;
      h.add("var", b.name).add("value", b.value.text).add("kind", int64_t(b.kind));
    }
    return true;
  };
  if (!bindings("args", node.args)) return std::nullopt;
  for (const auto& scope : node.scopes)
    if (!bindings("scope", scope)) return std::nullopt;
  for (resolve::EdgeId e : node.out) {
    const auto& edge = g.edges[e];
    if (edge.kind == resolve::EdgeKind::build || edge.kind == resolve::EdgeKind::import) continue;
    if (edge.to == resolve::kNone || edge.dynamic || edge.conditional) return std::nullopt;
    if (edge.kind != resolve::EdgeKind::from && edge.kind != resolve::EdgeKind::copy)
      return std::nullopt;
    const auto& dep = ctx.target_keys[edge.to];
    if (!dep) return std::nullopt;
    h.add("edge", int64_t(edge.kind)).add("dep", *dep).add("artifact", edge.artifact);
  }
  if (copies) {
    auto c = context_digest(ctx, file.abs_dir);
    if (!c) return std::nullopt;
    h.add("context", *c);
  }
  return h.finish();
}

std::optional<TargetResult> TargetCache::load(Context& ctx, const Digest& key,
                                              std::vector<output::StepInfo>* steps) const {
  auto text = fs::read_file(fs::join(dir_, key.hex()));
  if (!text) return std::nullopt;
  try {
    json j = json::parse(*text);
    if (j.at("version") != kTargetRecordVersion) return std::nullopt;
    Loader load(ctx);
    TargetResult r;
    r.env = load.env(j.at("env"));
    r.artifacts = load.tree(j.at("artifacts"));
    for (const auto& a : j.at("local_artifacts")) {
      ArtifactOutput o;
      a.at("paths").get_to(o.paths);
      a.at("host_dest").get_to(o.host_dest);
      a.at("shown_dest").get_to(o.shown_dest);
      o.glob = a.at("glob");
      o.tree = load.tree(a.at("tree"));
      r.local_artifacts.push_back(std::move(o));
    }
    for (const auto& i : j.at("images")) {
      ImageOutput o;
      i.at("names").get_to(o.names);
      o.env = load.env(i.at("env"));
      o.earthly_labels = i.at("earthly_labels");
      r.images.push_back(std::move(o));
    }
    for (const auto& s : j.at("steps"))
      steps->push_back({s.at("target"), s.at("where"), s.at("text")});
    r.all_cached = true;
    r.shown = !steps->empty();
    return r;
  } catch (const std::exception&) {
    return std::nullopt; // damaged, another version, or pointing at what is gone
  }
}

void TargetCache::store(const Digest& key, const TargetResult& r,
                        const std::vector<output::StepInfo>& steps) const {
  for (const auto& c : r.env.caches)
    if (c.persist) return;
  json locals = json::array(), images = json::array(), shown = json::array();
  for (const auto& a : r.local_artifacts)
    locals.push_back({{"paths", a.paths},
                      {"host_dest", a.host_dest},
                      {"shown_dest", a.shown_dest},
                      {"glob", a.glob},
                      {"tree", tree_json(a.tree)}});
  for (const auto& i : r.images) {
    for (const auto& c : i.env.caches)
      if (c.persist) return;
    images.push_back(
        {{"names", i.names}, {"env", env_json(i.env)}, {"earthly_labels", i.earthly_labels}});
  }
  for (const auto& s : steps)
    shown.push_back({{"target", s.target}, {"where", s.where}, {"text", s.text}});
  json j = {{"version", kTargetRecordVersion},
            {"env", env_json(r.env)},
            {"artifacts", tree_json(r.artifacts)},
            {"local_artifacts", locals},
            {"images", images},
            {"steps", shown}};
  (void)fs::make_dirs(dir_);
  (void)fs::write_file_atomic(fs::join(dir_, key.hex()), j.dump());
}

std::vector<output::StepInfo> StepLog::take(const std::string& target) {
  std::lock_guard lock(mu_);
  auto it = steps_.find(target);
  if (it == steps_.end()) return {};
  auto out = std::move(it->second);
  steps_.erase(it);
  return out;
}

void StepLog::step_cached(const output::StepInfo& step) {
  {
    std::lock_guard lock(mu_);
    steps_[step.target].push_back(step);
  }
  inner_.step_cached(step);
}

void StepLog::step_finished(const output::StepInfo& step, output::Duration took) {
  {
    std::lock_guard lock(mu_);
    steps_[step.target].push_back(step);
  }
  inner_.step_finished(step, took);
}

} // namespace earth::build
