#include "earth/store/snapshots.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/store/cleanup.h"
#include "earth/store/durable.h"
#include "earth/store/empty_steps.h"
#include "earth/store/file_lock.h"
#include "earth/store/layout.h"
#include "earth/store/usage.h"

namespace earth::store {

// The renames that recorded steps, counted, and how many of them a sync
// made durable: a syncfs covers every rename done before it started.
struct SnapshotStore::Renames {
  explicit Renames(std::string dir) : root(std::move(dir)) {}
  ~Renames() { (void)flush(); }
  Renames(const Renames&) = delete;
  Renames& operator=(const Renames&) = delete;
  uint64_t done() {
    std::lock_guard lock(mutex);
    return renamed;
  }
  void covered(uint64_t upto) {
    std::lock_guard lock(mutex);
    synced = std::max(synced, upto);
  }
  void renamed_one() {
    std::lock_guard lock(mutex);
    ++renamed;
  }
  Result<void> flush() {
    uint64_t upto = done();
    {
      std::lock_guard lock(mutex);
      if (synced >= upto) return {};
    }
    if (auto r = sync_dir(root); !r) return r;
    covered(upto);
    return {};
  }
  std::string root;
  std::mutex mutex;
  uint64_t renamed = 0, synced = 0;
};

Result<SnapshotStore> SnapshotStore::open(const std::string& cache_dir, std::string_view kind) {
  if (auto r = check_layout(cache_dir); !r) return Failure{r.error()};
  std::string root = fs::join(cache_dir, kind);
  std::string tmp = fs::join(cache_dir, "tmp");
  std::string locks = fs::join(cache_dir, "locks");
  for (const auto& d : {root, tmp, locks})
    if (auto r = fs::make_dirs(d); !r) return Failure{r.error()};
  EntryKind entry = kind == "steps" ? EntryKind::step : EntryKind::snapshot;
  SnapshotStore store(cache_dir, entry, root, tmp, locks);
  if (entry == EntryKind::step) store.renames_ = std::make_shared<Renames>(root);
  return store;
}

struct SnapshotStore::EmptyFills {
  std::string dir;
  struct stat st {};
  std::shared_ptr<EmptySteps> log;
  std::mutex mutex;
  std::vector<std::string> spares; // empty temp dirs of fills kept as records
};

namespace {

// The xattr names of `path` (nullopt when unreadable or too many).
std::optional<std::vector<std::string>> xattr_names(const std::string& path) {
  char names[1024];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  if (n < 0) return std::nullopt;
  std::vector<std::string> out;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1)
    out.emplace_back(names + i);
  return out;
}

// A filled dir that says nothing a shared empty dir like `like` does not:
// no entries, the same mode and owner, no xattr but the uuid overlayfs
// stamps on an upper dir's root (meaningless in a lower dir).
bool is_empty_fill(const std::string& dir, const struct stat& like) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || st.st_mode != like.st_mode || st.st_uid != like.st_uid ||
      st.st_gid != like.st_gid)
    return false;
  auto names = xattr_names(dir);
  if (!names) return false;
  for (const auto& name : *names)
    if (!std::string_view(name).ends_with(".overlay.uuid")) return false;
  auto entries = fs::list_dir(dir);
  return entries && entries->empty();
}

} // namespace

std::string SnapshotStore::dir_of(const Digest& diff_id) const {
  return fs::join(root_, diff_id.hex());
}

std::string SnapshotStore::path(const Digest& diff_id) const {
  if (empty_ && empty_->log->known(diff_id)) return empty_->dir;
  return dir_of(diff_id);
}

bool SnapshotStore::has(const Digest& diff_id) const {
  (void)record_use(cache_, kind_, diff_id.hex()); // a lease first: prune keeps it from now on
  if (fs::is_dir(dir_of(diff_id))) return true;
  return empty_ && empty_->log->has(diff_id);
}

void SnapshotStore::record_empty_fills(const std::string& empty_dir,
                                       std::shared_ptr<EmptySteps> log) {
  auto e = std::make_shared<EmptyFills>();
  e->dir = empty_dir;
  e->log = std::move(log);
  if (::lstat(empty_dir.c_str(), &e->st) != 0) return; // then every fill keeps its dir
  empty_ = std::move(e);
}

const std::string& SnapshotStore::empty_dir() const {
  static const std::string none;
  return empty_ ? empty_->dir : none;
}

// A new temp dir for a fill, or the empty dir of an earlier fill recorded
// as empty (no mkdir on the cache's filesystem, and no rmdir later).
Result<std::string> SnapshotStore::take_temp_dir(const std::string& name) {
  if (empty_) {
    std::lock_guard lock(empty_->mutex);
    if (!empty_->spares.empty()) {
      std::string dir = std::move(empty_->spares.back());
      empty_->spares.pop_back();
      return dir;
    }
  }
  auto own = process_temp_dir(cache_);
  if (!own) return Failure{own.error()};
  return fs::make_temp_dir(*own, "snapshot-" + name.substr(0, 12) + "-");
}

// Records `diff_id` as an empty step when its fill left `tmp` empty, and
// keeps `tmp` for the next fill. Nothing is synced: the shared empty dir
// is durable already, and a lost record only means the step runs again.
bool SnapshotStore::keep_as_empty(const Digest& diff_id, const std::string& tmp) {
  if (!empty_ || !is_empty_fill(tmp, empty_->st)) return false;
  if (!empty_->log->add(diff_id)) return false;
  if (auto names = xattr_names(tmp))
    for (const auto& name : *names) ::lremovexattr(tmp.c_str(), name.c_str());
  std::lock_guard lock(empty_->mutex);
  empty_->spares.push_back(tmp);
  return true;
}

Result<std::string> SnapshotStore::ensure(const Digest& diff_id, const Fill& fill) {
  std::string dest = dir_of(diff_id);
  if (has(diff_id)) return path(diff_id);
  // Serialise with other processes unpacking the same layer, then look again.
  auto lock = FileLock::acquire(fs::join(locks_, "snapshot-" + diff_id.hex() + ".lock"));
  if (!lock) return Failure{lock.error()};
  if (fs::is_dir(dest)) return dest;
  if (empty_ && empty_->log->has(diff_id)) return empty_->dir;

  auto tmp = take_temp_dir(diff_id.hex());
  if (!tmp) return Failure{tmp.error()};
  ::chmod(tmp->c_str(), 0755); // mkdtemp makes 0700; a layer's "./" entry may override
  if (auto r = fill(*tmp); !r) {
    (void)fs::remove_all(*tmp);
    return Failure{r.error()};
  }
  if (keep_as_empty(diff_id, *tmp)) {
    kill_point("snapshot-recorded-empty");
    return empty_->dir;
  }
  // Durable before recorded: the contents reach the disk before the rename
  // names them, and the rename before anything else can refer to it: a
  // step's rename by the syncfs of the next step (which also covers the
  // earlier renames, so a step is never durable without those before it) or
  // by flush(), an unpacked layer's by an fsync of snapshots/ right away.
  uint64_t renamed_before = renames_ ? renames_->done() : 0;
  auto synced = sync_tree(*tmp);
  if (synced && renames_ && *synced == Synced::filesystem) renames_->covered(renamed_before);
  if (synced && renames_ && *synced == Synced::each)
    if (auto r = renames_->flush(); !r) synced = Failure{r.error()};
  if (!synced) {
    (void)fs::remove_all(*tmp);
    return Failure{synced.error()};
  }
  int64_t bytes = tree_bytes(*tmp);
  kill_point("snapshot-filled");
  if (::rename(tmp->c_str(), dest.c_str()) != 0) {
    int err = errno;
    (void)fs::remove_all(*tmp);
    if (fs::is_dir(dest)) return dest; // someone without the lock (older earth) won
    return Failure{errno_message("rename snapshot to " + dest, err)};
  }
  if (renames_) {
    renames_->renamed_one();
  } else if (auto r = sync_dir(root_); !r) {
    return Failure{r.error()};
  }
  (void)record_use(cache_, kind_, diff_id.hex(), bytes);
  kill_point("snapshot-recorded");
  return dest;
}

uint64_t SnapshotStore::unsynced_renames() const {
  if (!renames_) return 0;
  std::lock_guard lock(renames_->mutex);
  return renames_->renamed - renames_->synced;
}

Result<void> SnapshotStore::flush() {
  return renames_ ? renames_->flush() : Result<void>{};
}

Result<void> SnapshotStore::remove(const Digest& diff_id) {
  // Rename first so a half-deleted snapshot is never visible under its name.
  std::string dest = dir_of(diff_id);
  if (!fs::exists(dest)) return {};
  auto own = process_temp_dir(fs::dirname(root_));
  if (!own) return Failure{own.error()};
  std::string doomed = fs::join(*own, "doomed-" + diff_id.hex());
  if (::rename(dest.c_str(), doomed.c_str()) != 0) return Failure{errno_message(dest, errno)};
  return fs::remove_all(doomed);
}

} // namespace earth::store
