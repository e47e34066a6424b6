// The stat cache (issue 9, after git's index and ninja's .ninja_log): a
// file's content digest keyed on what lstat says of it — device, inode,
// size, mtime and ctime in nanoseconds — so an unchanged input file is
// never read again. Persisted as one compact, versioned binary index
// (docs/formats.md#stat-cache), loaded once per build and rewritten
// atomically at its end when something changed.
//
// Racy entries (git's rule): a file whose mtime or ctime falls within the
// filesystem's timestamp granularity of the moment it was hashed could
// change again without its stat changing; such a digest is used but not
// recorded, so the next run reads the file again.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "earth/base/digest.h"
#include "earth/base/disk.h"
#include "earth/base/error.h"

namespace earth {

// What lstat tells about a file's identity and contents.
struct StatKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  static StatKey of(const struct stat& st);
  friend bool operator==(const StatKey&, const StatKey&) = default;
};

// Git's racy-clean rule: a file whose mtime or ctime falls within the
// filesystem's timestamp granularity of `at` (ns since the epoch) could
// change again without its stat changing, so its stat proves nothing.
bool racy(const StatKey& st, int64_t at);

inline constexpr std::string_view kStatCacheMagic = "earth-stat-cache"; // 16 bytes
inline constexpr uint32_t kStatCacheVersion = 1;

class StatCache {
public:
  // Nanoseconds since the epoch (CLOCK_REALTIME); tests pass their own.
  using Clock = std::function<int64_t()>;

  // An empty cache that is never saved (index_path empty) or that will be
  // saved at `index_path`. Files are read through `disk`.
  explicit StatCache(std::string index_path = {}, const Disk& disk = real_disk(), Clock clock = {});
  // Loads the index at `index_path`: a missing, damaged or other-version
  // index gives an empty cache (it is only a cache), never an error.
  static std::unique_ptr<StatCache> open(std::string index_path, const Disk& disk = real_disk(),
                                         Clock clock = {});

  // The SHA-256 of regular file `path` whose lstat gave `st`: from the
  // index when `st` matches the recorded stat, else read and (unless racy)
  // recorded. Thread-safe.
  Result<Digest> digest(const std::string& path, const StatKey& st);
  // Writes the index atomically when an entry was added or changed. Entries
  // this process did not use are dropped first when they outnumber the used
  // ones by more than `slack` (files deleted, renamed or of other projects
  // would otherwise make every later load slower).
  Result<void> save(size_t slack = 10000);

  // The index bytes (docs/formats.md#stat-cache), and back; decode fails
  // on a bad magic, version, length or checksum.
  std::string encode() const;
  bool decode(std::string_view bytes);

  size_t size() const;
  size_t reads() const { return reads_; } // files read (misses)
  size_t hits() const { return hits_; }

private:
  struct Entry {
    StatKey st;
    Digest digest;
    bool used = false; // looked up or recorded by this process (not saved)
  };

  std::string index_path_;
  const Disk& disk_;
  Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  bool dirty_ = false;
  std::atomic<size_t> reads_{0}, hits_{0};
};

} // namespace earth
