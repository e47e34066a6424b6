// Writing outputs after a successful build: AS LOCAL artifacts onto the
// host (each atomically: a temp sibling renamed into place) and SAVE IMAGE
// images into the local store.
#include "outputs.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/build/journal.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "earth/store/file_lock.h"
#include "earth/store/usage.h"
#include "tree.h"

namespace earth::build {

namespace {

std::string temp_sibling(const std::string& path) {
  return fs::join(fs::dirname(path),
                  ".earth-tmp-" + fs::basename(path) + "-" + std::to_string(::getpid()));
}

// Removes what killed earth processes left next to `dest` (its temp
// siblings, whatever their pid). The caller holds the path's output lock, so
// no live process is writing them.
void remove_leftover_siblings(const std::string& dest) {
  std::string prefix = ".earth-tmp-" + fs::basename(dest) + "-";
  auto names = fs::list_dir(fs::dirname(dest));
  if (!names) return;
  for (const auto& n : *names) {
    if (!n.starts_with(prefix)) continue;
    std::string rest = n.substr(prefix.size());
    if (rest.ends_with(".old")) rest.resize(rest.size() - 4);
    if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos)
      (void)fs::remove_all(fs::join(fs::dirname(dest), n));
  }
}

// Puts the artifact entry `src` of `view` at host path `dest`, replacing
// what was there, so a reader sees the old or the new, never half of it.
Result<void> replace_with(const LayerView& view, const std::string& src, const std::string& dest) {
  if (auto r = fs::make_dirs(fs::dirname(dest)); !r) return r;
  std::string tmp = temp_sibling(dest);
  remove_leftover_siblings(dest);
  CopyOptions o;
  o.keep_ts = true;
  o.uid = ::geteuid(); // outputs belong to whoever ran earth, as a checkout would
  o.gid = ::getegid();
  if (auto r = copy_entry(view, src, tmp, o); !r) {
    (void)fs::remove_all(tmp);
    return r;
  }
  struct stat st;
  bool old_dir = ::lstat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  std::string old = tmp + ".old";
  if (old_dir && ::rename(dest.c_str(), old.c_str()) != 0)
    return Failure{errno_message("move " + dest + " aside", errno)};
  kill_point("export-aside");
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    if (old_dir) ::rename(old.c_str(), dest.c_str());
    (void)fs::remove_all(tmp);
    return Failure{errno_message("write " + dest, err)};
  }
  kill_point("export-replaced");
  if (old_dir) (void)fs::remove_all(old);
  return {};
}

// What the host holds at `path`, from lstat alone (ninja's price): every
// entry's relative path, type, mode, size, inode and change time. Any write,
// chmod or replacement of the output changes it.
Digest host_signature(const std::string& path) {
  Hasher h("earth.output-stat.v1");
  std::vector<std::pair<std::string, std::string>> todo{{path, ""}};
  while (!todo.empty()) {
    auto [abs, rel] = std::move(todo.back());
    todo.pop_back();
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0) {
      h.add("missing", rel);
      continue;
    }
    h.add("path", rel).add("mode", int64_t(st.st_mode)).add("size", int64_t(st.st_size));
    h.add("ino", int64_t(st.st_ino)).add("dev", int64_t(st.st_dev));
    h.add("ctime", int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec);
    if (!S_ISDIR(st.st_mode)) continue;
    auto names = fs::list_dir(abs);
    if (!names) continue;
    std::sort(names->rbegin(), names->rend()); // popped in sorted order
    for (const auto& n : *names) todo.emplace_back(abs + "/" + n, rel + "/" + n);
  }
  return h.finish();
}

// Writes `src` to `to` unless the marker says this very artifact was written
// there and the host still holds what was written: a no-op build rewrites
// no output. True when it wrote.
Result<bool> write_if_changed(const LayerView& view, const ArtifactOutput& out,
                              const std::string& src, const std::string& to,
                              const std::string& cache_dir, std::vector<std::string>* uses) {
  Digest key =
      plan::KeyBuilder("local-output", out.tree.key).add("src", src).add("to", to).finish();
  std::string marker = fs::join(fs::join(cache_dir, "outputs"), key.hex());
  if (uses)
    uses->push_back(key.hex());
  else
    (void)store::record_use(cache_dir, store::EntryKind::output, key.hex());
  // Unchanged (the marker's signature, inode and ctime included, is what the
  // host holds): nothing to write, no lock to take.
  auto written_here = [&] {
    auto text = read_own_file(marker, 256);
    return text && *text == host_signature(to).hex();
  };
  if (written_here()) return false;
  // Two builds writing the same host path take turns (docs/cache.md, Concurrency).
  auto lock = store::FileLock::acquire(fs::join(
      cache_dir,
      "locks/output-" + Hasher("earth.output-path.v1").add("to", to).finish().hex() + ".lock"));
  if (!lock) return Failure{lock.error()};
  if (written_here()) return false; // another build wrote it meanwhile
  if (auto r = replace_with(view, src, to); !r) return Failure{r.error()};
  (void)fs::make_dirs(fs::dirname(marker));
  // Not fsynced (a commit of 0.3-3 ms on every export that wrote): a hint.
  // A marker a power cut loses or cuts does not match, and the output is
  // written again; one that survives matches only the host file whose
  // signature (size, inode, mtime, ctime) it recorded.
  (void)fs::write_file_atomic(marker, host_signature(to).hex(), 0644, fs::Durable::no);
  return true;
}

} // namespace

Result<std::vector<std::string>> write_artifact(const ArtifactOutput& out,
                                                const std::string& cache_dir,
                                                const OutputNotes& notes,
                                                std::vector<std::string>* marker_uses) {
  LayerView view(out.tree.layers);
  std::vector<std::string> written;
  std::string dest = out.host_dest;
  bool into_dir = dest.ends_with("/") || out.glob;
  for (const auto& p : out.paths) {
    auto e = view.find(p);
    if (!e) return Failure{"artifact " + p + " is missing"};
    std::string to = dest;
    if (!S_ISDIR(e->st.st_mode)) {
      if (into_dir || fs::is_dir(dest)) to = fs::join(dest, fs::basename(p));
    }
    if (to.ends_with("/")) to.pop_back();
    auto wrote = write_if_changed(view, out, p, to, cache_dir, marker_uses);
    if (!wrote) return Failure{wrote.error()};
    if (*wrote && notes.rewritten) ++*notes.rewritten;
    if (notes.journal) notes.journal->note_output(to, notes.target);
    written.push_back(to);
  }
  return written;
}

void record_marker_uses(const std::string& cache_dir, const std::vector<std::string>& markers) {
  std::vector<store::UseRecord> records;
  records.reserve(markers.size());
  for (const auto& m : markers) records.push_back({store::EntryKind::output, m});
  if (!records.empty()) (void)store::record_uses(cache_dir, records);
}

Result<std::string> write_image(image::ImageStore& images, const ImageOutput& out,
                                const std::string& cache_dir,
                                const std::map<std::string, std::string>& labels) {
  const EnvState& env = out.env;
  image::RuntimeConfig config = env.config;
  if (out.earthly_labels)
    for (const auto& [k, v] : labels) config.labels[k] = v;
  // An image already committed from the same state under the same names is
  // not written again: the no-op path must not tar layers.
  plan::KeyBuilder kb("image", env.key);
  kb.add_list("names", out.names);
  for (const auto& [k, v] : config.labels) kb.add("label", k).add("value", v);
  Digest key = kb.finish();
  std::string marker = fs::join(fs::join(cache_dir, "outputs"), key.hex());
  (void)store::record_use(cache_dir, store::EntryKind::output, key.hex());
  if (auto text = fs::read_file(marker); text) {
    bool same = true;
    for (const auto& n : out.names) {
      auto d = images.manifest_digest(n, {.pull_if_missing = false});
      same &= d && d->hex() == *text;
    }
    if (same) return *text;
  }
  std::vector<std::string> layers;
  for (size_t i = env.own_from; i < env.layers.size(); ++i) {
    auto names = fs::list_dir(env.layers[i]);
    if (names && !names->empty()) layers.push_back(env.layers[i]);
  }
  auto rec = images.commit(env.base, layers, config, out.names);
  if (!rec) return Failure{rec.error()};
  kill_point("image-committed");
  (void)fs::make_dirs(fs::dirname(marker));
  (void)fs::write_file_atomic(marker, rec->manifest_digest.hex());
  return rec->manifest_digest.hex();
}

} // namespace earth::build
