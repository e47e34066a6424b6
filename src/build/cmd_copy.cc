// COPY from the build context (the Earthfile's directory) and from other
// targets' artifacts (+t/path), into a new layer.
#include <fmt/format.h>
#include <sys/stat.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/exec/user_db.h"
#include "earth/plan/keys.h"
#include "earth/resolve/reference.h"
#include "tree.h"

namespace earth::build {

namespace {

// One thing to copy: a path in a view, and where its copy goes.
struct Source {
  const LayerView* view;
  std::string path; // absolute in the view (a symlink's target, when followed)
  std::string rel;  // context sources: relative to the context, for ignore rules
  bool is_dir = false;
  std::string name; // the name the copy gets in a destination directory
};

struct CopyPlan {
  LayerView context;
  IgnoreRules ignore;
  std::vector<LayerView> artifact_views; // one per artifact source
  std::vector<Source> sources;
};

// The context path a COPY source names, or a located error when it leaves
// the context.
std::string context_path(TargetRun& t, const syntax::Command& cmd, const std::string& word) {
  if (word.starts_with("/"))
    t.fail(cmd, fmt::format("COPY source '{}' is absolute; sources are relative to the "
                            "Earthfile's directory",
                            word));
  std::string p = fs::normalize("/" + word);
  std::string raw = fs::normalize(word);
  if (raw == ".." || raw.starts_with("../"))
    t.fail(cmd,
           fmt::format("COPY source '{}' is outside the build context ({})", word, t.file().dir));
  return p;
}

// Each source matching `pattern`. A source that is a symlink is followed
// (inside the view) unless --symlink-no-follow, as BuildKit's copy does.
void add_matches(TargetRun& t, const syntax::Command& cmd, const LayerView& view,
                 const std::string& pattern, const std::string& shown, bool if_exists, bool follow,
                 const IgnoreRules* ignore, std::vector<Source>& out) {
  std::vector<std::string> paths;
  if (has_glob(pattern)) {
    paths = glob(view, pattern);
  } else if (view.find(pattern)) {
    paths.push_back(pattern);
  }
  size_t before = out.size();
  for (const auto& p : paths) {
    std::string rel = p.size() > 1 ? p.substr(1) : "";
    if (ignore && !rel.empty() && ignore->ignored(rel)) continue;
    std::string path = p;
    auto e = view.find(p);
    if (follow && e && S_ISLNK(e->st.st_mode)) {
      auto r = view.resolve(p, true);
      if (!r) t.fail(cmd, fmt::format("COPY {}: {}", shown, r.error()));
      if (!r->entry) t.fail(cmd, fmt::format("COPY {}: the symlink {} points nowhere", shown, p));
      path = r->path;
      e = r->entry;
    }
    out.push_back({&view, path, rel, e && S_ISDIR(e->st.st_mode), fs::basename(p)});
  }
  if (out.size() == before && !if_exists)
    t.fail(cmd, fmt::format("COPY {}: no such file or directory{}", shown,
                            ignore && !ignore->empty() ? " (or excluded by .earthlyignore)" : ""));
}

CopyOptions copy_options(TargetRun& t, const syntax::Command& cmd, const resolve::CommandFlags& f) {
  CopyOptions o;
  o.keep_ts = f.has("--keep-ts");
  o.keep_own = f.has("--keep-own");
  std::string chown = f.last("--chown");
  if (!chown.empty()) {
    chown = t.expand(cmd, chown);
    auto u = exec::resolve_user(chown, t.env().layers);
    if (!u) t.fail(cmd, fmt::format("COPY --chown {}: {}", chown, u.error()));
    o.uid = u->uid;
    o.gid = u->gid;
    o.keep_own = false;
  }
  if (std::string chmod = f.last("--chmod"); !chmod.empty())
    o.chmod = octal_mode(t, cmd, "COPY --chmod", t.expand(cmd, chmod));
  return o;
}

} // namespace

void cmd_copy(TargetRun& t, const syntax::Command& cmd) {
  auto words = resolve::join_grouped_words(cmd.args);
  auto f = t.flags(cmd, words, {"--chmod", "--chown", "--platform", "--build-arg"},
                   {"--dir", "--keep-ts", "--keep-own", "--if-exists", "--symlink-no-follow",
                    "--allow-privileged", "--pass-args"});
  if (words.size() < f.next + 2) t.fail(cmd, "COPY needs at least one source and a destination");
  if (!t.env().started) t.fail(cmd, "COPY needs a FROM first");
  bool dir_mode = f.has("--dir"), if_exists = f.has("--if-exists");
  bool follow = !f.has("--symlink-no-follow");
  CopyOptions opts = copy_options(t, cmd, f);

  CopyPlan plan{LayerView({t.file().abs_dir}), {}, {}, {}};
  auto ignore = IgnoreRules::load(t.file().abs_dir);
  if (!ignore) t.fail(cmd, ignore.error());
  plan.ignore = std::move(*ignore);
  auto artifact_edges = t.edges(resolve::EdgeKind::copy);
  size_t next_edge = 0;
  size_t n_sources = words.size() - 1 - f.next;
  plan.artifact_views.reserve(n_sources);
  bool reads_unkept = false; // an artifact tree of a step no build keeps

  std::vector<std::shared_ptr<const DynamicTarget>> kept; // references known only now
  plan::KeyBuilder key("COPY", t.env().key);
  for (size_t i = f.next; i + 1 < words.size(); ++i) {
    auto group = resolve::split_grouped_ref(words[i]);
    std::string word = group ? group->ref : t.expand(cmd, words[i]);
    if (group || resolve::has_unescaped_plus(word)) {
      const TargetResult* dep = nullptr;
      std::string artifact;
      if (next_edge < artifact_edges.size() && artifact_edges[next_edge]->dynamic) {
        // Known only now: resolved and built before the copy.
        ++next_edge;
        auto ref = resolve::parse_artifact_ref(group ? t.expand(cmd, group->ref) : word);
        if (!ref) t.fail(cmd, ref.error());
        std::vector<std::string> args;
        for (const auto& a : f.all("--build-arg")) args.push_back("--" + a);
        if (group) args.insert(args.end(), group->args.begin(), group->args.end());
        kept.push_back(build_dynamic(t, cmd, *ref, f.has("--pass-args"), args));
        dep = &kept.back()->result;
        artifact = ref->artifact;
      } else if (next_edge < artifact_edges.size() &&
                 artifact_edges[next_edge]->to != resolve::kNone) {
        const auto* edge = artifact_edges[next_edge++];
        if (auto built = build_reached(t, cmd, *edge)) {
          kept.push_back(std::move(built)); // reached only through IF: built now
          dep = &kept.back()->result;
        } else {
          dep = &t.ctx().results[edge->to];
        }
        artifact = edge->artifact;
      } else {
        t.fail(cmd, fmt::format("COPY {}: this artifact reference is not supported yet", word));
      }
      plan.artifact_views.emplace_back(dep->artifacts.layers);
      reads_unkept = reads_unkept || t.unkept_among(dep->artifacts.layers);
      std::string path = fs::normalize("/" + artifact);
      key.add("artifact-of", dep->artifacts.key).add("artifact", path);
      add_matches(t, cmd, plan.artifact_views.back(), path, word, if_exists, follow, nullptr,
                  plan.sources);
      continue;
    }
    std::string path = context_path(t, cmd, word);
    key.add("context", path);
    add_matches(t, cmd, plan.context, path, word, if_exists, follow, &plan.ignore, plan.sources);
  }
  // A context source skips what .earthlyignore excludes below it, both
  // when it is hashed and when it is copied.
  auto options_for = [&](const Source& s) {
    CopyOptions o = opts;
    if (s.view == &plan.context && !plan.ignore.empty())
      o.skip = [&plan, &s](const std::string& rel) {
        return plan.ignore.ignored(fs::join(s.rel, rel));
      };
    return o;
  };
  for (const auto& s : plan.sources) {
    key.add("source", s.path).add("name", s.name);
    CopyOptions o = options_for(s);
    o.digests = t.ctx().stat_cache.get();
    FileSink files; // --explain / debug keys: which file's content changed
    if (key.recording())
      files = [&](const std::string& rel, const Digest& d) {
        std::string base = s.view == &plan.context ? s.rel : s.path;
        key.note("file", (rel.empty() ? base : fs::join(base, rel)) + " " + d.oci());
      };
    auto tree = tree_digest(*s.view, s.path, o, files);
    if (!tree) t.fail(cmd, tree.error());
    key.add("tree", *tree);
  }

  std::string dest_word = t.expand(cmd, words.back());
  std::string dest = t.in_workdir(dest_word);
  // After LOCALLY the destination is on the host (relative to the Earthfile's dir).
  LayerView rootfs(t.env().locally ? std::vector<std::string>{"/"} : t.env().layers);
  auto resolved = rootfs.resolve(dest);
  if (!resolved) t.fail(cmd, resolved.error());
  bool dest_is_dir = dest_word.ends_with("/") || dest_word == "." || dest_word.ends_with("/.") ||
                     resolved->path == "/" || plan.sources.size() > 1 ||
                     (resolved->entry && S_ISDIR(resolved->entry->st.st_mode)) ||
                     (plan.sources.size() == 1 && plan.sources[0].is_dir && !dir_mode);
  key.add("dest", resolved->path).add("dest-is-dir", dest_is_dir ? 1 : 0);
  key.add("dir", dir_mode ? 1 : 0).add("keep-ts", opts.keep_ts ? 1 : 0);
  key.add("keep-own", opts.keep_own ? 1 : 0).add("owner", int64_t(opts.uid) << 32 | opts.gid);
  key.add("chmod", opts.chmod ? int64_t(*opts.chmod) : -1);
  Digest k = key.finish();

  auto fill = [&](const std::string& layer) -> Result<void> {
    std::string base = resolved->path;
    std::string parent = dest_is_dir ? base : fs::dirname(base);
    if (auto r = make_parents(layer, parent); !r) return r;
    for (const auto& s : plan.sources) {
      std::string to = base;
      if (dest_is_dir && (!s.is_dir || dir_mode)) to = fs::join(base, s.name);
      if (auto r = copy_entry(*s.view, s.path, layer + to, options_for(s)); !r) return r;
    }
    return {};
  };
  if (t.env().locally) return copy_to_host(t, cmd, [&] { return fill(""); });
  std::string dir = t.make_dir(cmd, k, fill, reads_unkept);
  t.env().layers.push_back(dir);
  t.env().key = k;
}

} // namespace earth::build
