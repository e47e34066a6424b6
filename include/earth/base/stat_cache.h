// The stat cache (issue 9, after git's index and ninja's .ninja_log): a
// file's content digest keyed on what lstat says of it — device, inode,
// size, mtime and ctime in nanoseconds — so an unchanged input file is
// never read again. Persisted as one compact, versioned binary index
// (docs/formats.md#stat-cache), loaded once per build; at its end the
// entries it added or changed are appended as checksummed records (a torn
// tail is detected and dropped), and now and then the whole index is
// rewritten atomically (compacted).
//
// Racy entries (git's rule): a file whose mtime or ctime falls within the
// filesystem's timestamp granularity of the moment it was hashed could
// change again without its stat changing; such a digest is used but not
// recorded, so the next run reads the file again.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
inline constexpr uint32_t kStatCacheVersion = 4;

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
  // Persists the entries added or changed since the index was loaded: one
  // appended record each (one write(2), O_APPEND) when the index loaded
  // whole, else — and when the appended records would outnumber half the
  // compacted entries plus kAppendSlack — the whole index rewritten
  // atomically. Entries this process did not use are dropped by a rewrite,
  // which they force when they outnumber the used ones by more than `slack`
  // (files deleted, renamed or of other projects would otherwise make every
  // later load slower).
  Result<void> save(size_t slack = 10000);
  static constexpr size_t kAppendSlack = 256;

  // The whole index bytes, every entry compacted, no record appended
  // (docs/formats.md#stat-cache), and back. decode fails on a bad magic,
  // version, length or checksum of the compacted part; appended records
  // after it are read up to the first incomplete or damaged one (a torn
  // tail), which with everything after it is dropped.
  std::string encode() const;
  bool decode(std::string bytes);
  // One appended record of `path` (docs/formats.md#stat-cache).
  static std::string encode_record(std::string_view path, const StatKey& st, const Digest& digest);

  size_t size() const;
  // Appended records read by the last decode, and whether its tail was torn.
  size_t appended() const { return appended_; }
  bool torn() const { return torn_; }
  size_t reads() const { return reads_; } // files read (misses)
  size_t hits() const { return hits_; }

private:
  struct Entry {
    StatKey st;
    Digest digest;
    bool used = false;  // looked up or recorded by this process (not saved)
    bool fresh = false; // added or changed since the index was loaded or saved
  };
  Result<void> append(const std::string& records);
  void saved_fresh();

  std::string index_path_;
  const Disk& disk_;
  Clock clock_;
  mutable std::mutex mu_;
  bool decode_view(std::string_view bytes, std::shared_ptr<const void> keep);

  // Paths are views into the index as read, which `loaded_` keeps (no
  // allocation per entry on load), or into `added_` (paths recorded since).
  std::shared_ptr<const void> loaded_;
  std::deque<std::string> added_;
  std::unordered_map<std::string_view, Entry> entries_;
  // What save() needs, kept as entries change rather than counted then:
  // the paths of fresh entries (some may have gone since; none: nothing
  // to save) and how many are used.
  std::vector<std::string_view> fresh_;
  size_t used_ = 0;
  bool appendable_ = false; // the index on disk decoded whole: records may follow it
  size_t compacted_ = 0;    // entries in its compacted part
  size_t appended_ = 0;     // records appended after that part
  bool torn_ = false;
  std::atomic<size_t> reads_{0}, hits_{0};
};

} // namespace earth
