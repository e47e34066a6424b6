#include "request_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <set>
#include <vector>

#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/store/usage.h"
#include "output_choice.h"
#include "settings.h"

extern char** environ;

namespace earth::cli {

namespace {

int64_t realtime_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Settings that change only how the build is shown.
bool display_only(std::string_view name) {
  for (std::string_view p : {"EARTH_", "EARTHLY_"})
    if (name.starts_with(p)) {
      std::string_view rest = name.substr(p.size());
      for (std::string_view d :
           {"PROGRESS", "VERBOSE", "GITHUB_ANNOTATIONS", "TARGET_PADDING", "FULL_TARGET"})
        if (rest == d) return true;
    }
  return false;
}

// The environment that can change a result: every EARTH_*/EARTHLY_*
// setting but the display ones and the secrets (their ids are in the key,
// their values must never be: the key is kept in the journal), and the
// variables paths are made of.
void add_env(build::RequestKey& h) {
  std::vector<std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string_view v = *e;
    std::string_view name = v.substr(0, v.find('='));
    bool wanted = name.starts_with("EARTH_") || name.starts_with("EARTHLY_") || name == "HOME" ||
                  name.starts_with("XDG_");
    bool secrets = name == "EARTH_SECRETS" || name == "EARTHLY_SECRETS";
    if (wanted && !display_only(name) && !secrets) vars.emplace_back(v);
  }
  std::sort(vars.begin(), vars.end());
  h.add("env", int64_t(vars.size()));
  for (const auto& v : vars) h.add("var", v);
}

// This very binary: a rebuilt or another earth never reads the journal.
bool add_binary(build::RequestKey& h) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf);
  if (n <= 0) return false;
  std::string exe(buf, size_t(n));
  auto st = build::PathStat::of(exe, true);
  if (!st || st->kind != build::PathStat::Kind::file) return false;
  h.add("exe", exe).add("dev", int64_t(st->dev)).add("ino", int64_t(st->ino));
  h.add("size", st->size).add("mtime", st->mtime_ns).add("ctime", st->ctime_ns);
  return true;
}

// The journal's name: typed fields of everything besides the recorded
// files that can change this request's result.
std::optional<build::RequestKey> journal_key(const request::BuildRequest& req,
                                             const std::string& cache_dir) {
  build::RequestKey h;
  h.add("domain", "earth.request-journal.v1");
  if (!add_binary(h)) return std::nullopt;
  const auto& o = req.options;
  h.add("version", o.version).add("cwd", fs::current_dir()).add("cache", cache_dir);
  h.add("target", req.target).add("args", int64_t(req.arg_flags.size()));
  for (const auto& a : req.arg_flags) h.add("arg", a);
  h.add("overrides", int64_t(o.overrides.size()));
  for (const auto& [k, v] : o.overrides) h.add("name", k).add("value", v);
  h.add("project", o.project_dir).add("platform", o.platform).add("ci", o.ci ? 1 : 0);
  h.add("no-output", req.no_output ? 1 : 0).add("output", req.output ? 1 : 0);
  h.add("strict", req.strict ? 1 : 0).add("privileged", req.allow_privileged ? 1 : 0);
  h.add("artifact", req.artifact).add("artifact-dest", req.artifact_dest);
  h.add("image-only", req.image_only ? 1 : 0).add("arg-file", req.arg_file);
  h.add("secrets", int64_t(req.secrets.size())); // ids only: no reused target reads a value
  for (const auto& [id, value] : req.secrets) h.add("secret", id);
  h.add("config", settings().secret_provider);
  add_env(h);
  return h;
}

// Read before the journal is consulted or written: files whose effect is
// already in the key (.arg in the overrides, .env in the environment) are
// noted too, so that editing them is noticed however they are read.
void note_request_files(build::JournalRecorder& j, const request::BuildRequest& req,
                        const std::string& cache_dir) {
  for (const char* f : {"generation", "images.json", "layout"}) j.note_path(fs::join(cache_dir, f));
  std::string cwd = fs::current_dir();
  auto abs = [&](const std::string& p) { return p.starts_with("/") ? p : fs::join(cwd, p); };
  j.note_path(abs(req.arg_file));
  j.note_path(abs(globals().env_file.empty() ? ".env" : globals().env_file));
  j.note_path(
      abs(req.secret_sources.secret_file.empty() ? ".secret" : req.secret_sources.secret_file));
  if (const char* config = std::getenv("EARTH_CONFIG"); config && *config) j.note_path(abs(config));
}

// What a partial build resolves: the `reached` targets, as instances.
std::vector<resolve::Instance> instances_of(const std::vector<build::JournalTarget>& targets,
                                            const std::vector<uint32_t>& reached) {
  std::vector<resolve::Instance> instances;
  for (uint32_t i : reached) {
    resolve::Instance inst{targets[i].canonical, {}, targets[i].platform};
    for (const auto& a : targets[i].given)
      inst.given.push_back({a.name, {a.value, a.dynamic}, resolve::VarKind::arg});
    instances.push_back(std::move(inst));
  }
  return instances;
}

} // namespace

RequestJournal::RequestJournal(const request::BuildRequest& req, const std::string& cache_dir,
                               bool debug_keys)
    : cache_dir_(cache_dir), verbose_(req.verbose), started_ns_(realtime_ns()) {
  // Never answered from stats: these run, push or explain something.
  if (req.dry_run || req.no_cache || req.options.push || req.explain || debug_keys) return;
  if (auto key = journal_key(req, cache_dir)) {
    path_ = fs::join(fs::join(cache_dir, "journals"), key->name());
    key_ = key->bytes();
  }
}

bool RequestJournal::replay(const request::BuildRequest& req, Profile& profile) {
  if (path_.empty()) return false;
  // Mapped: a journal is replaced by a rename, never rewritten in place;
  // a hit touches only the paths and the targets' events, not every step's.
  auto text = fs::map_file(path_, false);
  if (!text) {
    profile.note("journal: none for this request");
    return false;
  }
  auto journal = build::JournalView::parse(text->bytes);
  if (!journal || journal->key() != key_) {
    profile.note(journal ? "journal: miss: another request of the same name"
                         : "journal: miss: unreadable");
    return false;
  }
  build::JournalCheck check = journal->check();
  if (!check.holds) {
    std::string how = check.what.empty() ? "" : " (" + check.what + ")";
    if (!check.request_changed && check.changed > 1)
      how += fmt::format("; {} paths changed", check.changed);
    profile.note("journal: miss: " + check.why + how);
    if (!check.request_changed && req.artifact.empty() && !req.image_only)
      if (auto whole = build::Journal::decode(text->bytes, build::Journal::Sections::targets))
        if (auto reached = whole->reached(check.groups)) {
          previous_ = std::move(*whole);
          reached_ = std::move(*reached);
          text_ = std::move(*text);
        }
    return false;
  }
  // The use of every entry the journal relies on (prune's LRU order).
  if (::utimensat(AT_FDCWD, (path_ + ".uses").c_str(), nullptr, 0) != 0) {
    profile.note("journal: miss: its use list is gone");
    return false;
  }
  start_work();
  auto status = make_status({req.progress, req.verbose, req.github_annotations});
  // A compact replay: the targets' events and the summary; each cached
  // step's line only with -V (docs/output.md). One write for it all rather
  // than one per line (~1 µs each).
  status->hold(true);
  bool shown = journal->replay(req.verbose, *status, Clock::now() - started_);
  status->hold(false);
  if (!shown) { // a section damaged past the checked paths: nothing was shown
    profile.note("journal: miss: unreadable");
    return false;
  }
  profile.note(fmt::format("journal: hit, {} paths unchanged", journal->path_count()));
  return true;
}

std::optional<resolve::Graph> RequestJournal::resolve_partial(const resolve::Options& options,
                                                              Profile& profile) {
  if (!previous_ || !recorder_) return std::nullopt;
  const auto& targets = previous_->targets;
  std::optional<resolve::Graph> graph;
  try {
    graph = resolve::resolve_instances(instances_of(targets, reached_), options);
  } catch (const std::exception&) {
    return std::nullopt; // the full path reports it
  }
  // The same instances as in the whole build, each shown and output as there.
  std::map<Digest, const build::JournalTarget*> by_key;
  for (const auto& t : targets) by_key[t.key] = &t;
  for (size_t r = 0; r < graph->roots.size(); ++r)
    if (graph->key(graph->roots[r]) != targets[reached_[r]].key) return std::nullopt;
  std::set<Digest> rebuilt;
  std::set<std::string, std::less<>> shown;
  std::map<Digest, std::string> names;
  for (resolve::NodeId id = 0; id < graph->nodes.size(); ++id) {
    auto& node = graph->nodes[id];
    if (node.kind != resolve::Node::Kind::target) continue;
    const Digest& key = graph->key(id);
    auto it = by_key.find(key);
    if (it == by_key.end()) return std::nullopt;
    node.output = it->second->output;
    node.push = false; // a pushing request is never journaled
    rebuilt.insert(key);
    shown.insert(it->second->name);
    names[key] = it->second->name;
  }
  auto view = build::JournalView::parse(text_.bytes);
  if (!view || !(kept_ = view->part(shown))) return std::nullopt;
  profile.note(
      fmt::format("journal: partial build of {} of {} targets", rebuilt.size(), targets.size()));
  names_ = std::move(names);
  recorder_->inherit(std::move(*previous_), view->packed_paths(), std::move(rebuilt));
  previous_.reset();
  return graph;
}

build::JournalRecorder* RequestJournal::record(request::BuildRequest& req) {
  if (path_.empty()) return nullptr;
  recorder_ = std::make_unique<build::JournalRecorder>(started_ns_, fs::current_dir());
  note_request_files(*recorder_, req, cache_dir_);
  const Disk& inner = req.options.disk ? *req.options.disk : real_disk();
  disk_ = std::make_unique<build::RecordingDisk>(inner, *recorder_);
  req.options.disk = disk_.get();
  auto* rec = recorder_.get();
  req.options.git = [rec, git = req.options.git](const std::string& dir) {
    rec->refuse("EARTHLY_GIT_* args ask git");
    return git(dir);
  };
  return rec;
}

output::Status& RequestJournal::events(output::Status& inner) {
  if (!recorder_) return inner;
  events_ = std::make_unique<build::EventRecorder>(inner, *recorder_);
  if (kept_) {        // a partial build: the targets it does not rebuild, shown as a hit shows them
    inner.hold(true); // one write for them all, as a replay does
    bool shown = events_->carry(std::move(*kept_), verbose_);
    inner.hold(false);
    if (!shown) recorder_->refuse("the journal's events do not decode");
    kept_.reset();
    carried_ = true;
  }
  return *events_;
}

void RequestJournal::finish(Profile& profile) {
  if (!recorder_ || !events_) return;
  profile.time("journal", [&] {
    auto journal =
        recorder_->finish(events_->take_events(), events_->totals(), events_->take_carried());
    if (journal) journal->key = key_;
    if (!journal) {
      (void)::unlink(path_.c_str()); // stale: the next run need not read it
      profile.note("journal: not written: " + recorder_->refused());
      return;
    }
    (void)fs::make_dirs(fs::dirname(path_));
    // Not fsynced (5-25 ms on a busy disk, on every build that changed
    // something): a crash may lose either file (a miss) or cut the journal,
    // which then does not decode (a miss); a cut use list only misleads
    // prune's LRU order, and prune invalidates every journal anyway.
    // A partial build's journal relies on the kept targets' entries too.
    auto uses = store::write_use_list(path_ + ".uses", store::entries_used(cache_dir_),
                                      fs::Durable::no, carried_);
    if (uses &&
        fs::write_file_atomic(path_, journal->encode_pieces().pieces.views, 0644, fs::Durable::no))
      profile.note(fmt::format("journal: written, {} paths",
                               journal->paths.size() + journal->carried.path_count));
  });
}

} // namespace earth::cli
