#include "earth/store/snapshots.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/store/cleanup.h"
#include "earth/store/durable.h"
#include "earth/store/file_lock.h"
#include "earth/store/layout.h"
#include "earth/store/usage.h"

namespace earth::store {

Result<SnapshotStore> SnapshotStore::open(const std::string& cache_dir, std::string_view kind) {
  if (auto r = check_layout(cache_dir); !r) return Failure{r.error()};
  std::string root = fs::join(cache_dir, kind);
  std::string tmp = fs::join(cache_dir, "tmp");
  std::string locks = fs::join(cache_dir, "locks");
  for (const auto& d : {root, tmp, locks})
    if (auto r = fs::make_dirs(d); !r) return Failure{r.error()};
  EntryKind entry = kind == "steps" ? EntryKind::step : EntryKind::snapshot;
  return SnapshotStore(cache_dir, entry, root, tmp, locks);
}

std::string SnapshotStore::path(const Digest& diff_id) const {
  return fs::join(root_, diff_id.hex());
}

bool SnapshotStore::has(const Digest& diff_id) const {
  (void)record_use(cache_, kind_, diff_id.hex()); // a lease first: prune keeps it from now on
  return fs::is_dir(path(diff_id));
}

Result<std::string> SnapshotStore::ensure(const Digest& diff_id, const Fill& fill) {
  std::string dest = path(diff_id);
  if (has(diff_id)) return dest;
  // Serialise with other processes unpacking the same layer, then look again.
  auto lock = FileLock::acquire(fs::join(locks_, "snapshot-" + diff_id.hex() + ".lock"));
  if (!lock) return Failure{lock.error()};
  if (fs::is_dir(dest)) return dest;

  auto own = process_temp_dir(cache_);
  if (!own) return Failure{own.error()};
  auto tmp = fs::make_temp_dir(*own, "snapshot-" + diff_id.hex().substr(0, 12) + "-");
  if (!tmp) return Failure{tmp.error()};
  ::chmod(tmp->c_str(), 0755); // mkdtemp makes 0700; a layer's "./" entry may override
  if (auto r = fill(*tmp); !r) {
    (void)fs::remove_all(*tmp);
    return Failure{r.error()};
  }
  // Durable before recorded: the contents reach the disk before the rename
  // names them, and the rename before anything else can refer to it.
  if (auto r = sync_tree(*tmp); !r) {
    (void)fs::remove_all(*tmp);
    return Failure{r.error()};
  }
  int64_t bytes = tree_bytes(*tmp);
  kill_point("snapshot-filled");
  if (::rename(tmp->c_str(), dest.c_str()) != 0) {
    int err = errno;
    (void)fs::remove_all(*tmp);
    if (fs::is_dir(dest)) return dest; // someone without the lock (older earth) won
    return Failure{errno_message("rename snapshot to " + dest, err)};
  }
  if (auto r = sync_dir(root_); !r) return Failure{r.error()};
  (void)record_use(cache_, kind_, diff_id.hex(), bytes);
  kill_point("snapshot-recorded");
  return dest;
}

Result<void> SnapshotStore::remove(const Digest& diff_id) {
  // Rename first so a half-deleted snapshot is never visible under its name.
  std::string dest = path(diff_id);
  if (!fs::exists(dest)) return {};
  auto own = process_temp_dir(fs::dirname(root_));
  if (!own) return Failure{own.error()};
  std::string doomed = fs::join(*own, "doomed-" + diff_id.hex());
  if (::rename(dest.c_str(), doomed.c_str()) != 0) return Failure{errno_message(dest, errno)};
  return fs::remove_all(doomed);
}

} // namespace earth::store
