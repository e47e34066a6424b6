// Snapshot directories: one unpacked layer per <cache>/snapshots/<diffid hex>,
// and one step dir per <cache>/steps/<key hex>. A snapshot is filled in a
// temp dir under <cache>/tmp, synced and renamed into place, so a snapshot
// dir that exists is complete. A step dir is renamed into place at once and
// recorded by its marker <hex>.ok once a sync shared with the steps around
// it made it durable (a group commit, off the path of the steps that stack
// on it): a step dir without its marker was never recorded. A per-entry
// flock keeps two processes from making the same entry at once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/store/usage.h"

namespace earth::store {

class EmptySteps;

// What records a step dir: an empty file beside it, named like it plus this.
inline constexpr char kRecordedSuffix[] = ".ok";

// Records the step dir `dir` (its marker: an empty file, not synced).
Result<void> mark_recorded(const std::string& dir);
// Whether the step dir `dir` is recorded: its marker and the dir itself (a
// marker whose dir was removed by hand records nothing).
bool is_recorded(const std::string& dir);

class SnapshotStore {
public:
  // Creates <cache>/<kind>, <cache>/tmp and <cache>/locks when missing.
  // "snapshots" holds unpacked image layers by diff_id; "steps" holds the
  // layers and artifact trees of build steps by step key (docs/formats.md).
  static Result<SnapshotStore> open(const std::string& cache_dir,
                                    std::string_view kind = "snapshots");

  std::string path(const Digest& diff_id) const;
  // Whether the dir is recorded. Records this process's use of it first (a
  // lease, store/usage.h), so that prune leaves it alone from then on.
  bool has(const Digest& diff_id) const;

  using Fill = std::function<Result<void>(const std::string& dir)>;
  // Returns the dir of `diff_id`, calling `fill` on an empty temp dir first
  // when it is not recorded. On failure nothing is left behind. A snapshot
  // is synced before the rename that records it, and the rename is synced.
  // A step dir is returned at its place at once, and recorded by a
  // background thread after a sync (see settle); a step dir left by a
  // process killed before that is removed and filled again.
  Result<std::string> ensure(const Digest& diff_id, const Fill& fill);
  // A step no build can reuse (its key unique: --no-cache, RUN --no-cache,
  // LOCALLY): `fill` on an empty dir in this process's temp dir, where it
  // stays — never recorded, synced, leased or counted — until
  // remove_unkept() at the end of the build, or, if the process dies, the
  // next earth's removal of its temp dir. Not in steps/: before, every such
  // step stayed there, never read again, until a prune.
  Result<std::string> make_unkept(const Digest& key, const Fill& fill);
  // Waits until every step dir this store returned is recorded; the error of
  // a sync that failed (its steps stay unrecorded). Whatever names a step dir
  // durably (a target record) waits for this first.
  Result<void> settle();
  // Runs `then` on the commit thread once every step dir returned so far is
  // recorded (at once in "snapshots"); never when a sync failed (settle then
  // says why). What names step dirs durably (a target record) is written so,
  // off the path of what the build does next.
  void once_recorded(std::function<void()> then);
  Result<void> remove(const Digest& diff_id);
  // Step dirs handed to the commit thread and not recorded yet (0 in
  // "snapshots", which records each at once). The last copy of the store
  // waits for them as it goes.
  uint64_t unrecorded() const;

  // Steps: from now on a fill that leaves its dir empty (no entries, the
  // mode and owner of `empty_dir`, no xattr but overlayfs's `*.overlay.uuid`)
  // is recorded in `log` (empty_steps.h) instead of kept, and `empty_dir`, an
  // existing durable empty dir of this store, answers for its key: no step
  // dir made, synced and renamed per RUN that changed nothing
  // (docs/formats.md, "Empty steps").
  void record_empty_fills(const std::string& empty_dir, std::shared_ptr<EmptySteps> log);
  // The shared empty dir, "" before record_empty_fills.
  const std::string& empty_dir() const;

private:
  struct EmptyFills;
  struct Commits;
  std::string dir_of(const Digest& diff_id) const;
  bool recorded(const Digest& diff_id) const;
  Result<void> remove_dir(const std::string& dir);
  Result<std::string> take_temp_dir(const std::string& name);
  bool keep_as_empty(const Digest& diff_id, const std::string& tmp);

  SnapshotStore(std::string cache, EntryKind kind, std::string root, std::string tmp,
                std::string locks)
      : cache_(std::move(cache)), kind_(kind), root_(std::move(root)), tmp_(std::move(tmp)),
        locks_(std::move(locks)) {}
  std::string cache_;
  EntryKind kind_;
  std::string root_, tmp_, locks_;
  std::shared_ptr<EmptyFills> empty_;
  std::shared_ptr<Commits> commits_; // steps only: the dirs waiting to be recorded
};

} // namespace earth::store
