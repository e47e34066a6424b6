// Advisory file locks (flock) so concurrent earth processes share one cache.
// A lock is held for as long as the FileLock object lives.
#pragma once

#include <string>

#include "earth/base/error.h"

namespace earth::store {

class FileLock {
public:
  enum class Mode { shared, exclusive };
  // Opens (creating) `path` and blocks until the lock is granted.
  static Result<FileLock> acquire(const std::string& path, Mode mode = Mode::exclusive);
  // Like acquire, but fails at once instead of waiting when the lock is held.
  static Result<FileLock> try_acquire(const std::string& path, Mode mode = Mode::exclusive);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

} // namespace earth::store
