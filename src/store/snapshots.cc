#include "earth/store/snapshots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
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

// The steps waiting to be recorded, and the thread that records them: a
// step dir is renamed into steps/ at once (its path never changes, so later
// steps stack on it right away) and recorded by its marker `<hex>.ok` once
// a sync has made it durable. One sync covers every dir waiting, so a
// target's COPY, RUN and SAVE ARTIFACT cost one sync between them, off the
// path of the steps that follow (a group commit). Each waiting step's lock
// is held until its marker exists.
struct SnapshotStore::Commits {
  struct Waiting {
    std::string dir; // empty: `then` alone
    std::optional<FileLock> lock;
    std::function<void()> then;
  };

  explicit Commits(std::string dir) : root(std::move(dir)) {}
  ~Commits() {
    {
      std::lock_guard guard(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
  }
  Commits(const Commits&) = delete;
  Commits& operator=(const Commits&) = delete;

  uint64_t add(Waiting w) {
    std::lock_guard guard(mutex);
    queue.push_back(std::move(w));
    if (!thread.joinable()) thread = std::thread([this] { run(); });
    wake.notify_all();
    return ++added;
  }
  // Until the steps added so far are recorded.
  Result<void> settle() {
    std::unique_lock guard(mutex);
    uint64_t upto = added;
    ++settling;
    wake.notify_all(); // no gathering while someone waits
    done.wait(guard, [&] { return recorded >= upto || error; });
    --settling;
    if (error) return Failure{*error};
    return {};
  }
  uint64_t waiting() {
    std::lock_guard guard(mutex);
    return added - recorded;
  }

private:
  void run() {
    std::unique_lock guard(mutex);
    for (;;) {
      wake.wait(guard, [&] { return !queue.empty() || stopping; });
      if (queue.empty()) return;
      // Gathers what follows for a moment (a SAVE ARTIFACT right after its
      // RUN then shares the RUN's sync), unless someone waits already.
      wake.wait_for(guard, kGather, [&] { return settling > 0 || stopping; });
      std::vector<Waiting> batch = std::move(queue);
      queue.clear();
      bool failed = error.has_value();
      guard.unlock();
      auto r = failed ? Result<void>{} : record(batch);
      size_t n = batch.size();
      batch.clear(); // the locks go after the markers, before anyone is told
      guard.lock();
      if (!r && !error) error = r.error();
      recorded += n;
      done.notify_all();
    }
  }
  // Syncs the batch, then marks each dir. A marker is not synced itself:
  // the next sync covers it (the sync of a later batch, or of any process),
  // and a power cut before then loses it, and with it only the work of
  // making that step: the dir counts for nothing and is made again.
  // Then runs what waited for them, in order.
  Result<void> record(const std::vector<Waiting>& batch) {
    if (auto r = sync_batch(batch); !r) return r;
    for (const auto& w : batch) {
      if (w.dir.empty()) continue;
      if (auto r = mark_recorded(w.dir); !r) return r;
      kill_point("snapshot-recorded");
    }
    for (const auto& w : batch) {
      if (!w.then) continue;
      try {
        w.then(); // a record's write: a hint, whose failure fails nothing
      } catch (...) {
      }
    }
    return {};
  }
  // One syncfs; or, when no dir holds file data (a RUN that wrote nothing),
  // an fsync of steps/ (the renames and earlier markers) and of each entry,
  // which waits for no other process's dirty files.
  Result<void> sync_batch(const std::vector<Waiting>& batch) {
    std::vector<std::string> each;
    for (const auto& w : batch) {
      if (w.dir.empty()) continue;
      auto paths = metadata_only_tree(w.dir);
      if (!paths || each.size() + paths->size() > kMaxMetadataOnlyEntries)
        return sync_filesystem(root);
      each.insert(each.end(), paths->begin(), paths->end());
    }
    if (auto r = sync_dir(root); !r) return r;
    return sync_each(each);
  }

  std::string root;
  std::mutex mutex;
  std::condition_variable wake, done;
  std::vector<Waiting> queue;
  std::thread thread;
  static constexpr auto kGather = std::chrono::milliseconds(1);
  bool stopping = false;
  int settling = 0;                 // threads in settle()
  std::optional<std::string> error; // a failed sync: no later step is recorded either
  uint64_t added = 0, recorded = 0; // steps handed over, steps done with
};

bool is_recorded(const std::string& dir) {
  return fs::exists(dir + kRecordedSuffix) && fs::is_dir(dir);
}

Result<void> mark_recorded(const std::string& dir) {
  std::string marker = dir + kRecordedSuffix;
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Failure{errno_message(marker, errno)};
  ::close(fd);
  return {};
}

Result<SnapshotStore> SnapshotStore::open(const std::string& cache_dir, std::string_view kind) {
  if (auto r = check_layout(cache_dir); !r) return Failure{r.error()};
  std::string root = fs::join(cache_dir, kind);
  std::string tmp = fs::join(cache_dir, "tmp");
  std::string locks = fs::join(cache_dir, "locks");
  for (const auto& d : {root, tmp, locks})
    if (auto r = fs::make_dirs(d); !r) return Failure{r.error()};
  EntryKind entry = kind == "steps" ? EntryKind::step : EntryKind::snapshot;
  SnapshotStore store(cache_dir, entry, root, tmp, locks);
  if (entry == EntryKind::step) store.commits_ = std::make_shared<Commits>(root);
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

bool SnapshotStore::recorded(const Digest& diff_id) const {
  std::string dir = dir_of(diff_id);
  return commits_ ? is_recorded(dir) : fs::is_dir(dir);
}

bool SnapshotStore::has(const Digest& diff_id) const {
  (void)record_use(cache_, kind_, diff_id.hex()); // a lease first: prune keeps it from now on
  if (recorded(diff_id)) return true;
  return empty_ && empty_->log->has(diff_id);
}

void SnapshotStore::record_empty_fills(const std::string& empty_dir,
                                       std::shared_ptr<EmptySteps> log) {
  if (!settle()) return; // the shared dir must be recorded first: else every fill keeps its dir
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

namespace {

// `fill` on the new temp dir `dir` (mkdtemp made it 0700; a layer's "./"
// entry may override 0755); on failure nothing is left.
Result<void> fill_new(const std::string& dir, const SnapshotStore::Fill& fill) {
  ::chmod(dir.c_str(), 0755);
  if (auto r = fill(dir); !r) {
    (void)fs::remove_all(dir);
    return r;
  }
  return {};
}

} // namespace

Result<std::string> SnapshotStore::ensure(const Digest& diff_id, const Fill& fill) {
  std::string dest = dir_of(diff_id);
  if (has(diff_id)) return path(diff_id);
  // Serialise with other processes unpacking the same layer, then look again.
  auto lock = FileLock::acquire(fs::join(locks_, "snapshot-" + diff_id.hex() + ".lock"));
  if (!lock) return Failure{lock.error()};
  if (recorded(diff_id)) return dest;
  if (empty_ && empty_->log->has(diff_id)) return empty_->dir;
  if (commits_ && fs::exists(dest)) // a step dir a killed process never recorded
    if (auto r = remove_dir(dest); !r) return Failure{r.error()};

  auto tmp = take_temp_dir(diff_id.hex());
  if (!tmp) return Failure{tmp.error()};
  if (auto r = fill_new(*tmp, fill); !r) return Failure{r.error()};
  if (keep_as_empty(diff_id, *tmp)) {
    kill_point("snapshot-recorded-empty");
    return empty_->dir;
  }
  // Durable before recorded. A snapshot's contents reach the disk before
  // the rename that records it, and that rename before anything can refer
  // to it. A step dir is renamed at once, and recorded by its marker after
  // a later sync (Commits), which keeps its lock till then.
  if (!commits_)
    if (auto r = sync_tree(*tmp); !r) {
      (void)fs::remove_all(*tmp);
      return Failure{r.error()};
    }
  int64_t bytes = tree_bytes(*tmp);
  kill_point("snapshot-filled");
  if (::rename(tmp->c_str(), dest.c_str()) != 0) {
    int err = errno;
    (void)fs::remove_all(*tmp);
    if (!commits_ && fs::is_dir(dest)) return dest; // someone without the lock (older earth) won
    return Failure{errno_message("rename snapshot to " + dest, err)};
  }
  (void)record_use(cache_, kind_, diff_id.hex(), bytes);
  if (commits_) {
    kill_point("snapshot-renamed"); // leaves a step dir without its marker
    commits_->add({dest, std::move(*lock), {}});
    return dest;
  }
  if (auto r = sync_dir(root_); !r) return Failure{r.error()};
  kill_point("snapshot-recorded");
  return dest;
}

Result<std::string> SnapshotStore::make_unkept(const Digest& key, const Fill& fill) {
  auto parent = unkept_dir(cache_);
  if (!parent) return parent;
  auto dir = fs::make_temp_dir(*parent, "step-" + key.hex().substr(0, 12) + "-");
  if (!dir) return dir;
  if (auto r = fill_new(*dir, fill); !r) return Failure{r.error()};
  return dir;
}

Result<void> SnapshotStore::settle() {
  return commits_ ? commits_->settle() : Result<void>{};
}

void SnapshotStore::once_recorded(std::function<void()> then) {
  if (!commits_) return then();
  commits_->add({{}, {}, std::move(then)});
}

uint64_t SnapshotStore::unrecorded() const {
  return commits_ ? commits_->waiting() : 0;
}

// Renamed away first, so a half-deleted dir is never seen under its name.
Result<void> SnapshotStore::remove_dir(const std::string& dir) {
  auto own = process_temp_dir(cache_);
  if (!own) return Failure{own.error()};
  std::string doomed = fs::join(*own, "doomed-" + fs::basename(dir));
  if (::rename(dir.c_str(), doomed.c_str()) != 0) return Failure{errno_message(dir, errno)};
  return fs::remove_all(doomed);
}

Result<void> SnapshotStore::remove(const Digest& diff_id) {
  std::string dest = dir_of(diff_id);
  if (commits_) ::unlink((dest + kRecordedSuffix).c_str()); // unrecorded before it goes
  if (!fs::exists(dest)) return {};
  return remove_dir(dest);
}

} // namespace earth::store
