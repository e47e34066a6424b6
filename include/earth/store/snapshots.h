// Snapshot directories: one unpacked layer per <cache>/snapshots/<diffid hex>.
// A snapshot is filled in a temp dir under <cache>/tmp and renamed into place,
// so a snapshot dir that exists is complete; a per-snapshot flock keeps two
// processes from unpacking the same layer at once.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/store/usage.h"

namespace earth::store {

class SnapshotStore {
public:
  // Creates <cache>/<kind>, <cache>/tmp and <cache>/locks when missing.
  // "snapshots" holds unpacked image layers by diff_id; "steps" holds the
  // layers and artifact trees of build steps by step key (docs/formats.md).
  static Result<SnapshotStore> open(const std::string& cache_dir,
                                    std::string_view kind = "snapshots");

  std::string path(const Digest& diff_id) const;
  // Whether the dir exists. Records this process's use of it first (a lease,
  // store/usage.h), so that prune leaves it alone from then on.
  bool has(const Digest& diff_id) const;

  using Fill = std::function<Result<void>(const std::string& dir)>;
  // Returns the snapshot dir of `diff_id`, calling `fill` on an empty temp dir
  // first when it does not exist. On failure nothing is left behind. A new
  // dir is synced to disk before the rename that records it.
  Result<std::string> ensure(const Digest& diff_id, const Fill& fill);
  Result<void> remove(const Digest& diff_id);

private:
  SnapshotStore(std::string cache, EntryKind kind, std::string root, std::string tmp,
                std::string locks)
      : cache_(std::move(cache)), kind_(kind), root_(std::move(root)), tmp_(std::move(tmp)),
        locks_(std::move(locks)) {}
  std::string cache_;
  EntryKind kind_;
  std::string root_, tmp_, locks_;
};

} // namespace earth::store
