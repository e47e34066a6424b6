#include "earth/store/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace earth::store {

namespace {

Result<void> with_dir_fd(const std::string& path, const char* what, int (*op)(int)) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message(path, errno)};
  int rc = op(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Failure{errno_message(std::string(what) + " " + path, err)};
  return {};
}

} // namespace

Result<void> sync_filesystem(const std::string& path) {
  return with_dir_fd(path, "syncfs", ::syncfs);
}

Result<void> sync_dir(const std::string& dir) {
  return with_dir_fd(dir, "fsync", ::fsync);
}

} // namespace earth::store
