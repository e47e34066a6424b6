// Snapshot directories: one unpacked layer per <cache>/snapshots/<diffid hex>.
// A snapshot is filled in a temp dir under <cache>/tmp and renamed into place,
// so a snapshot dir that exists is complete; a per-snapshot flock keeps two
// processes from unpacking the same layer at once.
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
  // dir is synced to disk before the rename that records it. In "snapshots"
  // the rename is then synced (an fsync of the dir); in "steps" it is left
  // to the next step's syncfs, which covers it, or to flush().
  Result<std::string> ensure(const Digest& diff_id, const Fill& fill);
  Result<void> remove(const Digest& diff_id);
  // Makes durable the renames that recorded this store's steps and that no
  // later sync covered (one fsync of steps/, none when nothing is pending).
  // Done by the last copy of the store as it goes, failures ignored.
  Result<void> flush();
  // Renames of steps recorded since the last sync that covers them (0 in
  // "snapshots", whose renames are synced at once).
  uint64_t unsynced_renames() const;

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
  struct Renames;
  std::string dir_of(const Digest& diff_id) const;
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
  std::shared_ptr<Renames> renames_; // steps only: renames not yet known durable
};

} // namespace earth::store
