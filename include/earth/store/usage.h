// Which cache entries are in use, and when each was last used
// (docs/formats.md, "Leases and use records"):
// - every process that uses an entry records it, before looking it up, in its
//   own lease log <cache>/leases/<pid>-<n>[.a].log, which it flocks while it lives:
//   while the lock is held the entries are leased and prune leaves them alone;
// - after the process exits, the log (its mtime the time of use) is merged by
//   the next prune into <cache>/usage, the last use and size of every entry.
// A record is written under a shared flock of <cache>/gc.lock; prune reads the
// leases and moves its victims away under the exclusive lock, so an entry is
// either leased before prune looks, or gone before its user looks it up.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/store/size_total.h"

namespace earth::store {

// The kinds of cache entries, as written in the logs and in <cache>/usage.
enum class EntryKind : char {
  step = 'S',     // steps/<key hex>/
  snapshot = 'L', // snapshots/<diff_id hex>/
  blob = 'B',     // blobs/sha256/<hex>
  mount = 'M',    // mounts/<hex>/ (and mounts/<hex>.lock)
  output = 'O',   // outputs/<hex>
};

// Records that this process uses entry `name` of `kind` in `cache_dir` (once
// per process and entry; `bytes` >= 0, its disk usage, when this process made
// it). Call before looking the entry up.
Result<void> record_use(const std::string& cache_dir, EntryKind kind, std::string_view name,
                        int64_t bytes = -1);

// record_use for many entries at once: one write under one shared gc.lock.
struct UseRecord {
  EntryKind kind;
  std::string_view name;
  int64_t bytes = -1;
};
Result<void> record_uses(const std::string& cache_dir, std::span<const UseRecord> records);

// The disk usage of a file or tree: 512-byte blocks of each inode, once.
int64_t tree_bytes(const std::string& path);

using EntryId = std::pair<EntryKind, std::string>;

struct EntryUse {
  int64_t last_use = 0; // unix seconds
  int64_t bytes = -1;   // -1: not known
};

// What the lease logs and the usage file say. Read with the logs' owners
// alive or dead; `leased` is what live processes hold.
struct UsageSnapshot {
  std::map<EntryId, EntryUse> uses;
  std::set<EntryId> leased;
  std::vector<std::string> dead_logs; // merged into `uses`; delete after saving usage
};

// Reads <cache>/usage and every lease log. An unknown version in either is
// an error naming the file and how to recover.
Result<UsageSnapshot> read_usage(const std::string& cache_dir);
// Only the entries live processes hold (cheap: the logs of live processes).
Result<std::set<EntryId>> read_leases(const std::string& cache_dir);
// Atomically replaces <cache>/usage with `uses`.
Result<void> write_usage(const std::string& cache_dir, const std::map<EntryId, EntryUse>& uses);

// The entries this process recorded a use of in `cache_dir` (record_use).
std::vector<EntryId> entries_used(const std::string& cache_dir);
// Writes `entries` atomically at `path` in the lease-log format: a request
// journal's use list (journals/<hex>.uses), whose mtime read_usage takes as
// their last use. With `extend`, after the entries of the list already
// there (a partial build's journal relies on both).
Result<void> write_use_list(const std::string& path, const std::vector<EntryId>& entries,
                            fs::Durable durable = fs::Durable::yes, bool extend = false);

// Folds the bytes this process recorded (record_uses with bytes >= 0) since
// its last fold into the size total <cache>/size (store/size_total.h), then
// renames its log from <pid>-<n>.log to <pid>-<n>.a.log ("counted"); a record
// with bytes renames it back first. Returns the size record after the fold.
Result<SizeTotal> fold_recorded_bytes(const std::string& cache_dir);

// The lease logs at a glance, from their names: how many there are, and how
// many of dead processes hold bytes no size total has counted (a process
// killed, or one that never checked the size limit, before its fold).
struct LeaseCensus {
  size_t logs = 0;
  size_t uncounted_dead = 0;
};
LeaseCensus lease_census(const std::string& cache_dir);

// <cache>/generation: rewritten (a new inode) whenever prune takes anything
// away, before it does; a request journal records its identity.
std::string generation_path(const std::string& cache_dir);
Result<void> bump_generation(const std::string& cache_dir);

// <cache>/gc.lock, held shared while a lease is written, exclusive by prune.
std::string gc_lock_path(const std::string& cache_dir);

} // namespace earth::store
