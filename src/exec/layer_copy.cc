#include "layer_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "earth/base/fs.h"

namespace earth::exec {

namespace {

using Links = std::map<std::pair<dev_t, ino_t>, std::string>;

Failure fail(const std::string& what, const std::string& path, int err) {
  return Failure{errno_message("copy layer: " + what + " " + path, err)};
}

// Every extended attribute of `from` onto `to` (neither followed if a
// symlink). Attributes the destination cannot hold (security.selinux on a
// filesystem without it) or that this user may not set on a symlink are
// skipped; anything else is an error.
Result<void> copy_xattrs(const std::string& from, const std::string& to) {
  ssize_t size = ::llistxattr(from.c_str(), nullptr, 0);
  if (size < 0) return errno == ENOTSUP ? Result<void>{} : fail("list xattrs of", from, errno);
  if (size == 0) return {};
  std::vector<char> names(static_cast<size_t>(size));
  size = ::llistxattr(from.c_str(), names.data(), names.size());
  if (size < 0) return fail("list xattrs of", from, errno);
  std::vector<char> value;
  for (size_t at = 0; at < static_cast<size_t>(size); at += std::strlen(&names[at]) + 1) {
    const char* name = &names[at];
    ssize_t len = ::lgetxattr(from.c_str(), name, nullptr, 0);
    if (len < 0) return fail(std::string("read xattr ") + name + " of", from, errno);
    value.resize(static_cast<size_t>(len));
    len = ::lgetxattr(from.c_str(), name, value.data(), value.size());
    if (len < 0) return fail(std::string("read xattr ") + name + " of", from, errno);
    if (::lsetxattr(to.c_str(), name, value.data(), static_cast<size_t>(len), 0) < 0 &&
        errno != ENOTSUP && errno != EPERM)
      return fail(std::string("set xattr ") + name + " on", to, errno);
  }
  return {};
}

// Owner, then mode (chown clears set-id bits), then xattrs (chown clears
// file capabilities too), then times.
Result<void> copy_metadata(const std::string& from, const std::string& to, const struct stat& st) {
  if (::fchownat(AT_FDCWD, to.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail("chown", to, errno);
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) < 0)
    return fail("chmod", to, errno);
  if (auto r = copy_xattrs(from, to); !r) return r;
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
    return fail("set times of", to, errno);
  return {};
}

Result<void> copy_file(const std::string& from, const std::string& to, const struct stat& st) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return fail("open", from, errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return fail("create", to, err);
  }
  // sendfile: an in-kernel copy between any two filesystems.
  off_t left = st.st_size;
  int err = 0;
  while (left > 0) {
    ssize_t n = ::sendfile(out, in, nullptr, static_cast<size_t>(std::min<off_t>(left, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    left -= n;
  }
  ::close(in);
  if (::close(out) < 0 && !err) err = errno;
  if (err) return fail("write", to, err);
  return {};
}

Result<void> copy_entry(const std::string& from, const std::string& to, Links& links);

Result<void> copy_children(const std::string& from, const std::string& to, Links& links) {
  DIR* dir = ::opendir(from.c_str());
  if (!dir) return fail("open dir", from, errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  ::closedir(dir);
  for (const auto& name : names)
    if (auto r = copy_entry(fs::join(from, name), fs::join(to, name), links); !r) return r;
  return {};
}

Result<void> copy_entry(const std::string& from, const std::string& to, Links& links) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) < 0) return fail("stat", from, errno);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), 0700) < 0) return fail("mkdir", to, errno);
    if (auto r = copy_children(from, to, links); !r) return r;
    return copy_metadata(from, to, st);
  }
  if (st.st_nlink > 1) {
    auto [it, fresh] = links.try_emplace({st.st_dev, st.st_ino}, to);
    if (!fresh) {
      if (::link(it->second.c_str(), to.c_str()) < 0) return fail("link", to, errno);
      return {};
    }
  }
  if (S_ISREG(st.st_mode)) {
    if (auto r = copy_file(from, to, st); !r) return r;
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
    if (n < 0) return fail("read link", from, errno);
    target.resize(static_cast<size_t>(n));
    if (::symlink(target.c_str(), to.c_str()) < 0) return fail("symlink", to, errno);
  } else if (::mknod(to.c_str(), st.st_mode & S_IFMT, st.st_rdev) < 0) {
    // Whiteouts (0/0 character devices), device nodes, fifos, sockets.
    return fail("mknod", to, errno);
  }
  return copy_metadata(from, to, st);
}

} // namespace

Result<void> copy_layer(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) < 0) return fail("stat", from, errno);
  Links links;
  if (auto r = copy_children(from, to, links); !r) return r;
  return copy_metadata(from, to, st);
}

} // namespace earth::exec
