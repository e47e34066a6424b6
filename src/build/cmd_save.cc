// SAVE ARTIFACT: files from the target's filesystem into its artifact tree
// (and, with AS LOCAL, onto the host after the build). SAVE IMAGE: the
// target's environment as an image in the local store after the build.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/plan/keys.h"
#include "tree.h"

namespace earth::build {

namespace {

struct SaveArgs {
  std::string src, dest, local;
  bool has_dest = false, as_local = false;
};

SaveArgs parse_save(TargetRun& t, const syntax::Command& cmd, const std::vector<std::string>& w,
                    size_t i) {
  SaveArgs a;
  auto as = std::find(w.begin() + static_cast<long>(i), w.end(), "AS");
  size_t end = static_cast<size_t>(as - w.begin());
  if (as != w.end()) {
    if (as + 1 == w.end() || *(as + 1) != "LOCAL" || as + 2 == w.end() || as + 3 != w.end())
      t.fail(cmd, "SAVE ARTIFACT … AS LOCAL needs exactly one host path after AS LOCAL");
    a.as_local = true;
    a.local = t.expand(cmd, *(as + 2));
  }
  if (end <= i || end > i + 2)
    t.fail(cmd, "SAVE ARTIFACT needs a source and at most one destination");
  a.src = t.expand(cmd, w[i]);
  if (end == i + 2) {
    a.dest = t.expand(cmd, w[i + 1]);
    a.has_dest = true;
  }
  return a;
}

// Where `src` lands in the artifact tree.
std::string artifact_path(const SaveArgs& a, const std::string& src, bool many) {
  if (!a.has_dest || a.dest.ends_with("/") || many)
    return fs::normalize(fs::join(a.has_dest ? "/" + a.dest : "/", fs::basename(src)));
  return fs::normalize("/" + a.dest);
}

// The host path AS LOCAL writes to, relative to the Earthfile's directory;
// leaving that directory needs --force (reference §1, SAVE ARTIFACT).
std::string local_dest(TargetRun& t, const syntax::Command& cmd, const std::string& local,
                       bool force) {
  std::string abs = local.starts_with("/") ? local : fs::join(t.file().abs_dir, local);
  std::string norm = fs::normalize(abs);
  const std::string& dir = t.file().abs_dir;
  if (!force && norm != dir && !norm.starts_with(dir + "/"))
    t.fail(cmd, fmt::format("SAVE ARTIFACT … AS LOCAL {} writes outside the Earthfile's "
                            "directory; add --force to allow it",
                            local));
  if (local.ends_with("/")) norm += "/";
  return norm;
}

} // namespace

void cmd_save_artifact(TargetRun& t, const syntax::Command& cmd) {
  auto f = t.flags(cmd, cmd.args, {},
                   {"--keep-ts", "--keep-own", "--if-exists", "--symlink-no-follow", "--force"});
  SaveArgs a = parse_save(t, cmd, cmd.args, f.next);
  if (!t.env().started) t.fail(cmd, "SAVE ARTIFACT needs a FROM first");
  if (t.env().locally && a.as_local)
    t.fail(cmd, "SAVE ARTIFACT … AS LOCAL cannot be used after LOCALLY (as in Earthly): the "
                "file is on the host already");
  std::string src = t.in_workdir(a.src);
  if (src == "/") t.fail(cmd, "SAVE ARTIFACT / is not allowed: name a file or directory");
  // After LOCALLY the source is a host path (relative to the Earthfile's dir).
  LayerView rootfs(t.env().locally ? std::vector<std::string>{"/"} : t.env().layers);
  std::vector<std::string> matches;
  if (has_glob(src)) {
    matches = glob(rootfs, src);
  } else {
    // The path is followed through symlinks, the last one too unless
    // --symlink-no-follow (Earthly follows by default).
    auto r = rootfs.resolve(src, !f.has("--symlink-no-follow"));
    if (!r) t.fail(cmd, r.error());
    if (r->entry) matches.push_back(r->path);
  }
  if (matches.empty()) {
    if (f.has("--if-exists")) return;
    t.fail(cmd, fmt::format("SAVE ARTIFACT {}: no such file or directory in the target", a.src));
  }
  bool many = has_glob(src);
  CopyOptions opts;
  opts.keep_ts = f.has("--keep-ts");
  opts.keep_own = true; // Earthly: --keep-own is always on

  plan::KeyBuilder key("SAVE ARTIFACT", t.env().key);
  std::vector<std::string> paths;
  for (const auto& m : matches) {
    // Named as written, even when the path was a symlink that was followed.
    paths.push_back(artifact_path(a, many ? m : src, many));
    key.add("src", m).add("dest", paths.back());
  }
  key.add("keep-ts", opts.keep_ts ? 1 : 0);
  Digest k = key.finish();
  std::string dir = t.make_dir(cmd, k, [&](const std::string& tree) -> Result<void> {
    for (size_t i = 0; i < matches.size(); ++i) {
      if (auto r = make_parents(tree, fs::dirname(paths[i])); !r) return r;
      if (auto r = copy_entry(rootfs, matches[i], tree + paths[i], opts); !r) return r;
    }
    return {};
  });
  auto& art = t.result().artifacts;
  art.layers.push_back(dir);
  art.key = plan::KeyBuilder("artifacts", art.key).add("save", k).finish();
  if (a.as_local) {
    ArtifactOutput out;
    out.paths = paths;
    out.shown_dest = a.local;
    out.host_dest = local_dest(t, cmd, a.local, f.has("--force"));
    out.glob = many;
    out.tree = art;
    t.result().local_artifacts.push_back(std::move(out));
  }
}

void cmd_save_image(TargetRun& t, const syntax::Command& cmd) {
  auto f = t.flags(
      cmd, cmd.args, {"--cache-from"},
      {"--push", "--cache-hint", "--no-manifest-list", "--insecure", "--without-earthly-labels"});
  if (!t.env().started) t.fail(cmd, "SAVE IMAGE needs a FROM first");
  persist_caches(t);
  ImageOutput out;
  for (size_t i = f.next; i < cmd.args.size(); ++i) out.names.push_back(t.expand(cmd, cmd.args[i]));
  out.env = t.env();
  out.earthly_labels = !f.has("--without-earthly-labels");
  if (f.has("--push")) {
    if (out.names.empty()) t.fail(cmd, "SAVE IMAGE --push needs an image name");
    defer_image_push(t, cmd, out);
  }
  if (!out.names.empty()) t.result().images.push_back(std::move(out));
}

} // namespace earth::build
