// Target-level reuse: the target input key, and the records of successful
// runs under <cache>/targets/ (docs/formats.md#target-records).
#include "target_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "earth/base/fs.h"
#include "earth/base/tokens.h"
#include "earth/build/journal.h"
#include "earth/store/snapshots.h"
#include "earth/store/usage.h"
#include "run_flags.h"
#include "tree.h"

namespace earth::build {

namespace {

using syntax::CommandKind;

// A RUN whose effect is fully decided by its key: its flags read by the
// engine's own parser (a boolean's `=$VAR` counts as on), no secret, no
// ssh, no mount but a cache or tmpfs one.
bool run_keyable(const syntax::Command& cmd) {
  if (cmd.exec_mode) return true; // RUN ["argv"…]: no flags
  auto f = parse_run_flags(cmd.args, [](const std::string& v) {
    return v.find('$') == std::string::npos ? v : std::string("true");
  });
  if (!f) return false; // the walk reports it
  for (std::string_view b :
       {"--no-cache", "--push", "--interactive", "--interactive-keep", "--ssh", "--aws"})
    if (f->has(b)) return false;
  if (!f->all("--secret").empty()) return false;
  for (const auto& m : f->all("--mount")) {
    std::string type = literal_mount_type(m);
    if (type != "cache" && type != "tmpfs") return false;
  }
  return true;
}

// Commands whose effect is fully decided by the target input key.
bool keyable(const syntax::Command& cmd) {
  if (syntax::sets_config(cmd.kind)) return true;
  switch (cmd.kind) {
  case CommandKind::run:
    return run_keyable(cmd);
  case CommandKind::from:
  case CommandKind::copy:
  case CommandKind::save_artifact:
  case CommandKind::save_image:
  case CommandKind::build:
  case CommandKind::arg:
  case CommandKind::let:
  case CommandKind::set:
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
    // A push is an action of this run (TargetResult::pushes), not a result
    // a record could replay.
    if (cmd->kind == CommandKind::save_image)
      for (const auto& a : cmd->args)
        if (a == "--push" || a.starts_with("--push=")) return false;
  }
  return true;
}

// The build context as COPY sees it: every entry not ignored, with its
// type, permission bits, size and content (through the stat cache) or link
// target, directories composed from their entries. Entries are looked at
// relative to their open directory (no path walk from / per entry), each
// with one lstat, which is also the one the journal notes (a dir before it
// is listed).
class ContextWalk {
public:
  ContextWalk(StatCache& files, JournalRecorder* journal) : files_(files), journal_(journal) {}

  // The digest of the context dir `abs`: its listing decides which ignore
  // file is read (absent ones are noted absent, with no stat of their own).
  // Every path is noted as the context's (a change rebuilds the targets
  // keyed on it).
  Result<Digest> root(const std::string& abs) {
    owner_ = {PathOwner::Kind::context, abs, {}};
    if (journal_) journal_->note_path(abs, false, owner_);
    Fd dir(::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto names = sorted_names(dir.fd, abs);
    if (!names) return Failure{names.error()};
    bool read = false; // only the first ignore file found is read
    for (std::string_view file : kIgnoreFiles) {
      std::string path = fs::join(abs, std::string(file));
      if (!std::ranges::binary_search(*names, file)) {
        if (journal_) journal_->note(path, true, PathStat{}, owner_); // absent when listed
        continue;
      }
      if (journal_) journal_->note_path(path, true, owner_); // a link may dangle
      if (read || !fs::exists(path)) continue;
      read = true;
      auto text = fs::read_file(path);
      if (!text) return Failure{text.error()};
      ignore_ = IgnoreRules::parse(*text);
    }
    return hash_entries(dir.fd, *names, abs, "");
  }

private:
  struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
  };

  // The names in open directory `fd` but . and .., sorted; getdents64 into
  // a stack buffer (a DIR costs an fstat and a 32 KB heap buffer each).
  static Result<std::vector<std::string>> sorted_names(int fd, const std::string& abs) {
    if (fd < 0) return Failure{errno_message("open " + abs, errno)};
    std::vector<std::string> names;
    alignas(8) char buf[8192];
    for (;;) {
      ssize_t n = ::getdents64(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Failure{errno_message("list " + abs, errno)};
      if (n == 0) break;
      for (ssize_t at = 0; at < n;) {
        const auto* de = reinterpret_cast<const struct dirent64*>(buf + at);
        std::string_view name = de->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
        at += de->d_reclen;
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<Digest> hash_entries(int fd, const std::vector<std::string>& names, const std::string& abs,
                              const std::string& rel) {
    Hasher h("earth.context.v1");
    for (const auto& n : names) {
      std::string child_rel = rel.empty() ? n : rel + "/" + n;
      if (!ignore_.empty() && ignore_.ignored(child_rel)) continue;
      std::string path = abs + "/" + n;
      struct stat st;
      if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return Failure{errno_message("stat " + path, errno)};
      if (journal_) journal_->note(path, false, PathStat::from(st), owner_);
      h.add("name", n).add("mode", int64_t(st.st_mode));
      if (S_ISREG(st.st_mode)) {
        auto c = files_.digest(path, StatKey::of(st));
        if (!c) return c;
        h.add("size", int64_t(st.st_size)).add("content", *c);
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t len = ::readlinkat(fd, n.c_str(), buf, sizeof buf);
        h.add("link", std::string_view(buf, len < 0 ? 0 : size_t(len)));
      } else if (S_ISDIR(st.st_mode)) {
        // Noted above with the lstat it is listed after.
        Fd sub(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        auto sub_names = sorted_names(sub.fd, path);
        if (!sub_names) return Failure{sub_names.error()};
        auto digest = hash_entries(sub.fd, *sub_names, path, child_rel);
        if (!digest) return digest;
        h.add("dir", *digest);
      }
    }
    return h.finish();
  }

  StatCache& files_;
  JournalRecorder* journal_;
  PathOwner owner_;
  IgnoreRules ignore_;
};

std::optional<Digest> context_digest(Context& ctx, const std::string& dir) {
  {
    std::lock_guard lock(ctx.memo_mu);
    if (auto it = ctx.context_digests.find(dir); it != ctx.context_digests.end()) return it->second;
  }
  auto d = ContextWalk(*ctx.stat_cache, ctx.options.journal).root(dir);
  if (!d) return std::nullopt;
  std::lock_guard lock(ctx.memo_mu);
  ctx.context_digests.emplace(dir, *d);
  return *d;
}

// --- records: length-prefixed tokens after a magic line (base/tokens.h),
// parsed in one pass with no allocation beyond the result (JSON parsing cost
// ~0.15 ms a record, the no-op path's largest cost).

class Writer : public TokenWriter {
public:
  Writer() : TokenWriter(kTargetRecordMagic) {}
};

class Reader : public TokenReader {
public:
  explicit Reader(std::string_view in) : TokenReader(in, kTargetRecordMagic) {}
  size_t count() { return TokenReader::count(size_t(1) << 20); }
  Digest digest() {
    auto d = Digest::parse(get());
    if (!d) throw TokenError("bad digest");
    return *d;
  }
};

void put_config(Writer& w, const image::RuntimeConfig& c) {
  w.list(c.env).put(c.working_dir).put(c.user).list(c.entrypoint).list(c.cmd);
  w.num(int64_t(c.labels.size()));
  for (const auto& [k, v] : c.labels) w.put(k).put(v);
  w.list(c.exposed_ports).list(c.volumes).put(c.stop_signal).put(c.healthcheck);
}

image::RuntimeConfig get_config(Reader& r) {
  image::RuntimeConfig c;
  c.env = r.list();
  c.working_dir = r.str();
  c.user = r.str();
  c.entrypoint = r.list();
  c.cmd = r.list();
  for (size_t n = r.count(); n > 0; --n) {
    std::string k = r.str();
    c.labels[k] = r.str();
  }
  c.exposed_ports = r.list();
  c.volumes = r.list();
  c.stop_signal = r.str();
  c.healthcheck = r.str();
  return c;
}

void put_env(Writer& w, const EnvState& e) {
  w.put(e.key.hex()).put(e.base.manifest_digest.is_zero() ? "" : e.base.name);
  w.put(e.base.manifest_digest.hex()).list(e.layers).num(int64_t(e.own_from));
  put_config(w, e.config);
  w.num(int64_t(e.hosts.size()));
  for (const auto& [name, addr] : e.hosts) w.put(name).put(addr);
  w.num(int64_t(e.caches.size()));
  for (const auto& c : e.caches) w.put(c.target).put(c.host_dir).put(c.lock_path).put(c.sharing);
  w.put(e.persisted.hex()).num(e.started ? 1 : 0);
}

void put_tree(Writer& w, const ArtifactState& a) {
  w.put(a.key.hex()).list(a.layers);
}

// Every dir is there, a step dir recorded (store::is_recorded): a record
// whose step dirs were pruned, or lost their markers, is not used.
bool all_exist(const std::string& cache_dir, const std::vector<std::string>& dirs) {
  std::string steps = fs::join(cache_dir, "steps") + "/";
  for (const auto& d : dirs)
    if (!(d.starts_with(steps) ? store::is_recorded(d) : fs::is_dir(d))) return false;
  return true;
}

// Leases the dirs of the cache a record points to (step dirs, unpacked
// layers, cache mounts) in this process's lease log, as a step lookup does,
// before they are checked or used: a prune running now keeps them, and the
// use counts as recent in the LRU order. Dirs outside the cache are left
// alone. One lease-log write for them all.
void lease(const std::string& cache_dir, const std::vector<std::string>& dirs) {
  static constexpr std::pair<std::string_view, store::EntryKind> kinds[] = {
      {"steps", store::EntryKind::step},
      {"snapshots", store::EntryKind::snapshot},
      {"mounts", store::EntryKind::mount}};
  std::vector<std::pair<store::EntryKind, std::string>> found;
  for (const auto& dir : dirs) {
    std::string parent = fs::dirname(dir);
    for (const auto& [sub, kind] : kinds)
      if (parent == fs::join(cache_dir, sub)) {
        found.emplace_back(kind, fs::basename(dir));
        break;
      }
  }
  std::vector<store::UseRecord> records;
  for (const auto& [kind, name] : found) records.push_back({kind, name});
  if (!records.empty()) (void)store::record_uses(cache_dir, records);
}

class Loader {
public:
  Loader(Context& ctx, Reader& r) : ctx_(ctx), r_(r) {}

  // The dirs the record points to are leased, then checked (every layer
  // exists), all at once when the record is read: one lease-log write.
  void lease_and_check() {
    for (auto* dirs : {&leased_, &checked_}) { // an env's layers are its artifacts' too: once
      std::ranges::sort(*dirs);
      dirs->erase(std::unique(dirs->begin(), dirs->end()), dirs->end());
    }
    lease(ctx_.options.cache_dir, leased_);
    {
      std::lock_guard lock(ctx_.memo_mu);
      std::erase_if(checked_, [&](const std::string& d) { return ctx_.dirs_present.contains(d); });
    }
    if (!all_exist(ctx_.options.cache_dir, checked_)) throw std::runtime_error("a layer is gone");
    std::lock_guard lock(ctx_.memo_mu);
    ctx_.dirs_present.insert(checked_.begin(), checked_.end());
  }

  EnvState env() {
    EnvState e;
    e.key = r_.digest();
    std::string base = r_.str();
    Digest manifest = r_.digest();
    if (!base.empty()) {
      auto rec = image(base);
      if (!rec || rec->manifest_digest != manifest) throw std::runtime_error("base image changed");
      e.base = *rec;
    }
    e.layers = r_.list();
    want(e.layers);
    e.own_from = size_t(r_.num());
    e.config = get_config(r_);
    for (size_t n = r_.count(); n > 0; --n) {
      std::string name = r_.str();
      e.hosts.emplace_back(std::move(name), r_.str());
    }
    for (size_t n = r_.count(); n > 0; --n) {
      CacheDir c;
      c.target = r_.str();
      c.host_dir = r_.str();
      c.lock_path = r_.str();
      c.sharing = r_.str();
      leased_.push_back(c.host_dir); // a RUN of a later target may mount it
      e.caches.push_back(std::move(c));
    }
    e.persisted = r_.digest();
    e.started = r_.num() != 0;
    return e;
  }

  ArtifactState tree() {
    ArtifactState a;
    a.key = r_.digest();
    a.layers = r_.list();
    want(a.layers);
    return a;
  }

private:
  void want(const std::vector<std::string>& dirs) {
    leased_.insert(leased_.end(), dirs.begin(), dirs.end());
    checked_.insert(checked_.end(), dirs.begin(), dirs.end());
  }

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
  Reader& r_;
  std::vector<std::string> leased_;  // leased by lease_and_check
  std::vector<std::string> checked_; // and these must exist
};

} // namespace

std::optional<Digest> target_key(Context& ctx, resolve::NodeId id, std::string* context) {
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
    // A BUILD known only at build time is built at the statement: its pushes
    // are this run's, which a record cannot replay.
    if (edge.kind == resolve::EdgeKind::build && edge.dynamic) return std::nullopt;
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
    if (context) *context = file.abs_dir;
  }
  return h.finish();
}

std::optional<TargetResult> TargetCache::load(Context& ctx, const Digest& key,
                                              const std::string& shown_as,
                                              std::vector<ShownStep>* steps) const {
  auto text = read_own_file(fs::join(dir_, key.hex()));
  if (!text) return std::nullopt;
  try {
    Reader r(*text);
    Loader load(ctx, r);
    TargetResult t;
    t.env = load.env();
    t.artifacts = load.tree();
    for (size_t n = r.count(); n > 0; --n) {
      ArtifactOutput o;
      o.paths = r.list();
      o.host_dest = r.str();
      o.shown_dest = r.str();
      o.glob = r.num() != 0;
      o.tree = load.tree();
      t.local_artifacts.push_back(std::move(o));
    }
    for (size_t n = r.count(); n > 0; --n) {
      ImageOutput o;
      o.names = r.list();
      o.env = load.env();
      o.earthly_labels = r.num() != 0;
      t.images.push_back(std::move(o));
    }
    load.lease_and_check(); // before any step is shown
    for (size_t n = r.count(); n > 0; --n) {
      ShownStep s;
      s.info.target = shown_as;
      s.info.where = r.str();
      s.info.text = r.str();
      s.info.file = r.str();
      s.info.line = static_cast<uint32_t>(r.num());
      s.took = output::Duration{r.num()};
      steps->push_back(std::move(s));
    }
    if (!r.done()) return std::nullopt;
    t.all_cached = true;
    t.shown = !steps->empty();
    return t;
  } catch (const std::exception&) {
    return std::nullopt; // damaged, another version, or pointing at what is gone
  }
}

namespace {

// Whether a record of `t` would hold a secret or secret-derived value: in
// what the recipe wrote (image configs, hosts, cache and output paths,
// image names, step texts), never in the digests and dirs earth makes.
bool holds_secret(const TargetResult& t, const std::vector<ShownStep>& steps,
                  const Redactor& redact) {
  if (redact.empty()) return false;
  std::vector<std::string> texts;
  auto add = [&](const std::vector<std::string>& v) {
    texts.insert(texts.end(), v.begin(), v.end());
  };
  auto add_env = [&](const EnvState& e) {
    const auto& c = e.config;
    add(c.env), add(c.entrypoint), add(c.cmd), add(c.exposed_ports), add(c.volumes);
    add({c.working_dir, c.user, c.stop_signal, c.healthcheck});
    for (const auto& [k, v] : c.labels) add({k, v});
    for (const auto& [name, addr] : e.hosts) add({name, addr});
    for (const auto& cache : e.caches) texts.push_back(cache.target);
  };
  add_env(t.env);
  for (const auto& a : t.local_artifacts) add(a.paths), add({a.host_dest, a.shown_dest});
  for (const auto& i : t.images) add(i.names), add_env(i.env);
  for (const auto& [s, took] : steps) add({s.where, s.text});
  return std::any_of(texts.begin(), texts.end(),
                     [&](const std::string& x) { return redact.found_in(x); });
}

} // namespace

std::optional<std::string> TargetCache::encode(const TargetResult& t,
                                               const std::vector<ShownStep>& steps,
                                               const Redactor& redact) {
  for (const auto& c : t.env.caches)
    if (c.persist) return std::nullopt;
  for (const auto& i : t.images)
    for (const auto& c : i.env.caches)
      if (c.persist) return std::nullopt;
  if (holds_secret(t, steps, redact)) return std::nullopt;
  Writer w;
  put_env(w, t.env);
  put_tree(w, t.artifacts);
  w.num(int64_t(t.local_artifacts.size()));
  for (const auto& a : t.local_artifacts) {
    w.list(a.paths).put(a.host_dest).put(a.shown_dest).num(a.glob ? 1 : 0);
    put_tree(w, a.tree);
  }
  w.num(int64_t(t.images.size()));
  for (const auto& i : t.images) {
    w.list(i.names);
    put_env(w, i.env);
    w.num(i.earthly_labels ? 1 : 0);
  }
  w.num(int64_t(steps.size()));
  for (const auto& [s, took] : steps)
    w.put(s.where).put(s.text).put(s.file).num(s.line).num(took.count());
  return w.take();
}

bool TargetCache::write(const Digest& key, std::string_view record) const {
  (void)fs::make_dirs(dir_);
  // Not fsynced: the step dirs it names are durable already, and a record
  // a power cut truncates or empties fails to decode and is not used (the
  // target is walked, its steps hit).
  return bool(fs::write_file_atomic(fs::join(dir_, key.hex()), record, 0644, fs::Durable::no));
}

std::vector<ShownStep> StepLog::take(const std::string& target) {
  std::lock_guard lock(mu_);
  auto it = steps_.find(target);
  if (it == steps_.end()) return {};
  auto out = std::move(it->second);
  steps_.erase(it);
  return out;
}

void StepLog::step_cached(const output::StepInfo& step, output::Duration last_took) {
  {
    std::lock_guard lock(mu_);
    steps_[step.target].push_back({step, last_took});
  }
  inner_.step_cached(step, last_took);
}

void StepLog::step_finished(const output::StepInfo& step, output::Duration took) {
  {
    std::lock_guard lock(mu_);
    steps_[step.target].push_back({step, took});
  }
  inner_.step_finished(step, took);
}

} // namespace earth::build
