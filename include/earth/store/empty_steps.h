// Steps whose result is an empty layer (a RUN that changed nothing): recorded
// as one line each in the append-only log <cache>/steps-empty instead of a
// step dir each, and answered with one shared empty dir. A record needs no
// fsync: what it names (nothing) is durable already, and a lost record only
// makes that step run again (docs/formats.md, "Empty steps").
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::store {

class EmptySteps {
public:
  // Opens (creating when missing) <cache>/steps-empty. A log of another
  // version is left alone: nothing is read from or added to it.
  static Result<std::shared_ptr<EmptySteps>> open(const std::string& cache_dir);
  ~EmptySteps();
  EmptySteps(const EmptySteps&) = delete;
  EmptySteps& operator=(const EmptySteps&) = delete;

  // Whether `key` is recorded, reading what other processes appended since.
  bool has(const Digest& key);
  // Whether `key` is recorded, from what this process has read (no I/O).
  bool known(const Digest& key) const;
  // Appends `key` (one write(2) of one line, O_APPEND). False when the log
  // is of another version or the write failed: the caller keeps a dir.
  bool add(const Digest& key);

  static constexpr const char* kHeader = "earth-empty-steps 1\n";

private:
  explicit EmptySteps(int fd, bool usable) : fd_(fd), usable_(usable) {}
  void catch_up(); // callers hold mutex_
  int fd_;
  bool usable_;
  bool header_seen_ = false;
  off_t read_to_ = 0;
  std::string partial_; // a line not yet ended by '\n'
  std::unordered_set<std::string> keys_;
  mutable std::mutex mutex_;
};

} // namespace earth::store
