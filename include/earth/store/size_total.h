// <cache>/size: a running upper bound of the cache's size, so that the size
// limit after a build reads one small file instead of every use record
// (docs/formats.md, "The size total"; docs/cache.md, "The automatic limit").
//
// The figure it bounds is the one the use records give (store::read_usage:
// the last known bytes of every recorded entry). It goes up as processes fold
// in the bytes of the entries they made (store::fold_recorded_bytes), is set
// to the exact figure by a recount (enforce_limit) and by prune, and is never
// decreased otherwise: an entry counted twice only makes it high, and a high
// figure only costs a recount. A missing, torn or unknown record is "unknown":
// the next size check recounts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "earth/base/error.h"

namespace earth::store {

struct SizeTotal {
  int64_t total = -1; // bytes; -1: unknown (recount)
  int64_t added = 0;  // every byte ever folded in, since the record was made
  int64_t folds = 0;  // folds since the last recount (one recount every so many)
};

// The file, opened and flocked exclusively for as long as the object lives;
// rewritten in place (never renamed), so the lock is the file's own.
class SizeRecord {
public:
  static Result<SizeRecord> lock(const std::string& cache_dir);

  // What the file holds; nullopt when it is empty, torn (the checksum does
  // not match), or in another version.
  std::optional<SizeTotal> read() const;
  // read(), an unreadable record as {unknown, 0, 0}.
  SizeTotal read_or_unknown() const { return read().value_or(SizeTotal{}); }
  Result<void> write(const SizeTotal& t);

  SizeRecord(SizeRecord&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
  }
  SizeRecord& operator=(SizeRecord&&) = delete;
  SizeRecord(const SizeRecord&) = delete;
  SizeRecord& operator=(const SizeRecord&) = delete;
  ~SizeRecord();

private:
  SizeRecord(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

std::string size_total_path(const std::string& cache_dir);

// The record's text (one line, always the same length) and its parse.
std::string format_size_total(const SizeTotal& t);
std::optional<SizeTotal> parse_size_total(std::string_view text);

// Adds `bytes` (>= 0) folded in by one process: `added` and, when known,
// `total` grow by it, `folds` by one (nothing is written for 0 bytes).
// Returns the record after the fold.
Result<SizeTotal> add_to_size_total(const std::string& cache_dir, int64_t bytes);

// An exact count that takes a while without holding the record's lock
// (prune): what processes fold in meanwhile is added to the figure it finds,
// so no fold is lost (one already in the count is counted twice: safe).
class SizeRecount {
public:
  // Notes `added` (an unreadable record is first rewritten as unknown, so
  // that the folds from now on are counted).
  static Result<SizeRecount> begin(const std::string& cache_dir);
  // total = `exact` + the bytes folded in since begin; folds = 0.
  Result<void> finish(int64_t exact) const;

private:
  SizeRecount(std::string cache_dir, int64_t added)
      : cache_dir_(std::move(cache_dir)), added_(added) {}
  std::string cache_dir_;
  int64_t added_ = 0;
};

} // namespace earth::store
