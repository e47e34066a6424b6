#include "earth/store/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace earth::store {

namespace {

Result<int> lock_fd(const std::string& path, FileLock::Mode mode, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Failure{errno_message("lock " + path, errno)};
  int op = (mode == FileLock::Mode::shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Failure{"lock " + path + ": held by another earth process"};
    return Failure{errno_message("lock " + path, err)};
  }
  return fd;
}

} // namespace

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode) {
  auto fd = lock_fd(path, mode, true);
  if (!fd) return Failure{fd.error()};
  return FileLock(*fd);
}

Result<FileLock> FileLock::try_acquire(const std::string& path, Mode mode) {
  auto fd = lock_fd(path, mode, false);
  if (!fd) return Failure{fd.error()};
  return FileLock(*fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_); // closing the last descriptor releases the flock
}

} // namespace earth::store
