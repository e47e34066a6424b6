// RealDisk over POSIX calls; VirtualDisk over two maps.
#include "earth/base/disk.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "earth/base/fs.h"
#include "earth/base/strings.h"

namespace earth {

namespace {

FileStat from_mode(mode_t mode) {
  FileStat st;
  if (S_ISREG(mode)) {
    st.kind = FileStat::Kind::file;
    return st;
  }
  if (S_ISDIR(mode)) {
    st.kind = FileStat::Kind::dir;
    st.what = "a directory";
    return st;
  }
  st.kind = FileStat::Kind::other;
  st.what = S_ISFIFO(mode)   ? "a FIFO"
            : S_ISSOCK(mode) ? "a socket"
            : S_ISCHR(mode)  ? "a character device"
            : S_ISBLK(mode)  ? "a block device"
            : S_ISLNK(mode)  ? "a symbolic link"
                             : "not a regular file";
  return st;
}

FileStat missing(int err) {
  FileStat st;
  st.error = err;
  return st;
}

Result<std::string> read_all(int fd, const std::string& path, size_t size_hint) {
  std::string text;
  text.reserve(size_hint);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure{errno_message(path, errno)};
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

} // namespace

FileStat RealDisk::stat(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return missing(errno);
  return from_mode(st.st_mode);
}

FileStat RealDisk::lstat(const std::string& path) const {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return missing(errno);
  return from_mode(st.st_mode);
}

Result<std::string> RealDisk::read_file(const std::string& path) const {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Failure{errno_message(path, errno)};
  struct stat st {};
  Result<std::string> out = Failure{};
  if (::fstat(fd, &st) != 0)
    out = Failure{errno_message(path, errno)};
  else if (!S_ISREG(st.st_mode))
    out = Failure{path + ": is " + from_mode(st.st_mode).what + ", not a regular file"};
  else
    out = read_all(fd, path, static_cast<size_t>(st.st_size));
  ::close(fd);
  return out;
}

Result<std::vector<std::string>> RealDisk::list_dir(const std::string& path) const {
  return fs::list_dir(path);
}

Result<Digest> Disk::digest_file(const std::string& path) const {
  auto text = read_file(path);
  if (!text) return Failure{text.error()};
  return Digest::of(*text);
}

Result<Digest> RealDisk::digest_file(const std::string& path) const {
  auto d = earth::digest_file(path);
  if (!d) return Failure{errno_message("read " + path, errno)};
  return *d;
}

const Disk& real_disk() {
  static const RealDisk disk;
  return disk;
}

void VirtualDisk::add_file(const std::string& path, std::string contents) {
  std::string p = fs::normalize(path);
  add_dir(fs::dirname(p));
  files_[p] = std::move(contents);
}

void VirtualDisk::add_dir(const std::string& path) {
  for (std::string p = fs::normalize(path); dirs_.insert(p).second; p = fs::dirname(p)) {
  }
}

FileStat VirtualDisk::stat(const std::string& path) const {
  std::string p = fs::normalize(path);
  FileStat st;
  if (files_.count(p)) {
    st.kind = FileStat::Kind::file;
  } else if (dirs_.count(p)) {
    st.kind = FileStat::Kind::dir;
    st.what = "a directory";
  } else {
    st.error = files_.count(fs::dirname(p)) ? ENOTDIR : ENOENT;
  }
  return st;
}

Result<std::string> VirtualDisk::read_file(const std::string& path) const {
  FileStat st = stat(path);
  if (st.kind == FileStat::Kind::missing) return Failure{errno_message(path, st.error)};
  if (st.kind != FileStat::Kind::file)
    return Failure{path + ": is " + st.what + ", not a regular file"};
  ++reads_;
  return files_.at(fs::normalize(path));
}

Result<std::vector<std::string>> VirtualDisk::list_dir(const std::string& path) const {
  std::string dir = fs::normalize(path);
  if (stat(dir).kind != FileStat::Kind::dir)
    return Failure{errno_message("open directory " + path, ENOTDIR)};
  std::string prefix = dir == "/" ? dir : dir + "/";
  std::vector<std::string> names;
  auto add = [&](const std::string& p) {
    if (p.size() > prefix.size() && p.starts_with(prefix) &&
        p.find('/', prefix.size()) == std::string::npos)
      names.push_back(p.substr(prefix.size()));
  };
  for (const auto& d : dirs_) add(d);
  for (const auto& [f, _] : files_) add(f);
  return names;
}

std::vector<std::string> glob(const Disk& disk, const std::string& pattern) {
  std::vector<std::string> found{pattern.starts_with("/") ? "/" : ""};
  for (const auto& part : split(pattern, '/')) {
    if (part.empty()) continue;
    std::vector<std::string> next;
    for (const auto& base : found) {
      std::string prefix = base.empty() || base.ends_with("/") ? base : base + "/";
      if (part.find_first_of("*?[\\") == std::string::npos) {
        next.push_back(prefix + part); // a literal: checked at the end
        continue;
      }
      auto names = disk.list_dir(base.empty() ? "." : base);
      if (!names.ok()) continue;
      for (const auto& name : *names)
        if (::fnmatch(part.c_str(), name.c_str(), FNM_PERIOD) == 0) next.push_back(prefix + name);
    }
    found = std::move(next);
  }
  std::erase_if(found, [&](const std::string& p) {
    return disk.lstat(p.empty() ? "." : p).kind == FileStat::Kind::missing;
  });
  return found;
}

} // namespace earth
