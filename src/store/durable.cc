#include "earth/store/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

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

std::optional<std::vector<std::string>> metadata_only_tree(const std::string& dir) {
  namespace sfs = std::filesystem;
  std::vector<std::string> paths{dir};
  std::error_code ec;
  for (sfs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto status = it->symlink_status(ec);
    if (ec || paths.size() >= kMaxMetadataOnlyEntries) return std::nullopt;
    bool empty_file = sfs::is_regular_file(status) && it->file_size(ec) == 0 && !ec;
    if (!empty_file && !sfs::is_directory(status)) return std::nullopt;
    paths.push_back(it->path().string());
  }
  if (ec) return std::nullopt;
  return paths;
}

Result<Synced> sync_tree(const std::string& dir) {
  auto paths = metadata_only_tree(dir);
  if (!paths) {
    if (auto r = sync_filesystem(dir); !r) return Failure{r.error()};
    return Synced::filesystem;
  }
  if (auto r = sync_each(*paths); !r) return Failure{r.error()};
  return Synced::each;
}

Result<void> sync_each(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Failure{errno_message(path, errno)};
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Failure{errno_message("fsync " + path, err)};
  }
  return {};
}

Result<void> sync_dir(const std::string& dir) {
  return with_dir_fd(dir, "fsync", ::fsync);
}

} // namespace earth::store
