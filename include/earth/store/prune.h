// Garbage collection of the cache (docs/cache.md, "Pruning"): removes the
// least recently used step dirs, cache mounts, output markers, and the
// snapshots and blobs no image name needs, then the records that describe
// what is gone (target records, step timings, explain records), never what a running earth
// process holds (store/usage.h), never an image named in images.json unless
// `all`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "earth/base/error.h"
#include "earth/store/usage.h"

namespace earth::store {

struct PruneOptions {
  bool all =
      false; // also images named in images.json (and their names), every record, the stat cache
  std::optional<int64_t> keep_bytes; // stop once the cache holds at most this many bytes
  std::optional<std::chrono::seconds> keep_duration; // keep entries used this recently
  bool wait = true; // wait for another prune to finish; false: skip this one
};

// The records kept beside the entries, removed with the step dirs they
// describe: targets/<key> (a whole target's result, pointing at its step
// dirs and layers), timings/<step key>, explain/<hex> (a walk's step keys),
// and the stat cache (only by --all).
enum class RecordKind { target, timing, explain, stat_cache };

struct PruneReport {
  struct Count {
    int64_t entries = 0, bytes = 0;
  };
  std::map<EntryKind, Count> removed;
  std::map<RecordKind, Count> records_removed;
  int64_t images_unnamed = 0; // names dropped from images.json (--all)
  int64_t total_before = 0,
          total_after = 0; // bytes of every entry and record, protected ones included
  bool skipped = false;    // another prune was running (wait = false)
  Count sum() const;
  // "removed 3 step results, 1 cache mount (12.5 MiB); the cache holds 40.0 MiB"
  std::string describe() const;
};

// Removes entries as `options` say: without keep_bytes and keep_duration,
// everything that is not protected.
Result<PruneReport> prune(const std::string& cache_dir, const PruneOptions& options);

// The automatic size limit, applied after each build. The hook for the config
// file: callers override the fields (unless from_env) before enforce_limit.
struct CacheLimit {
  int64_t max_bytes = 0; // 0: no limit
  std::string source;    // where the limit came from, for messages
  bool from_env = false; // EARTH_CACHE_SIZE set it (it wins over the config file)
};
// `pct` percent of the disk holding `cache_dir` (of its parent while the
// cache does not exist yet).
int64_t percent_of_disk(const std::string& cache_dir, double pct);
// EARTH_CACHE_SIZE (bytes with a K/M/G/T suffix, a percentage of the disk
// like "10%", or "0" for none), else 10% of the disk holding `cache_dir`,
// at most 20 GiB. A bad value is an error naming the variable.
Result<CacheLimit> cache_limit_from_env(const std::string& cache_dir);
// Adds what this process made to the size total (store/size_total.h; with
// `ran_steps`, the cache mounts it leased are measured again, as a RUN may
// have filled them). When the total says the cache may be over `limit` (or
// it is unknown, or due for a recount, or a killed writer's log is left),
// recounts exactly from the use records; when that figure is over, prunes
// down to 90% of the limit, least recently used first, skipping if another
// prune runs. Returns what was removed (nothing when under the limit).
Result<PruneReport> enforce_limit(const std::string& cache_dir, const CacheLimit& limit,
                                  bool ran_steps = true);

// "512", "10K", "1.5GiB", "20GB" (K, M, G, T are powers of 1024, an optional B
// or iB follows).
Result<int64_t> parse_size(std::string_view text);
// "90s", "30m", "12h", "7d", "2w", or a sum like "1h30m".
Result<std::chrono::seconds> parse_duration(std::string_view text);
std::string format_size(int64_t bytes);

} // namespace earth::store
