#include "earth/base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

namespace earth::fs {

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message(path, errno)};
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Failure{errno_message(path, err)};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<MappedFile> map_file(const std::string& path, bool populate) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  void* p = MAP_FAILED;
  size_t size = 0;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    size = static_cast<size_t>(st.st_size);
    p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
  }
  ::close(fd);
  if (p == MAP_FAILED && size > 0) { // a filesystem that does not map: read it
    auto text = read_file(path);
    if (!text || text->empty()) return std::nullopt;
    auto owned = std::make_shared<const std::string>(std::move(*text));
    return MappedFile{*owned, owned};
  }
  if (p == MAP_FAILED) return std::nullopt;
  std::shared_ptr<const void> keep(p,
                                   [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return MappedFile{std::string_view(static_cast<const char*>(p), size), std::move(keep)};
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode,
                               Durable durable) {
  return write_file_atomic(path, std::span<const std::string_view>(&data, 1), mode, durable);
}

namespace {

// Writes every byte of `pieces` to `fd`, IOV_MAX at a time; errno on failure.
bool write_pieces(int fd, std::span<const std::string_view> pieces) {
  std::vector<iovec> iov;
  iov.reserve(pieces.size());
  for (auto p : pieces)
    if (!p.empty()) iov.push_back({const_cast<char*>(p.data()), p.size()});
  size_t at = 0;
  while (at < iov.size()) {
    int n = int(std::min<size_t>(iov.size() - at, IOV_MAX));
    ssize_t done = ::writev(fd, iov.data() + at, n);
    if (done < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (done == 0) {
      errno = ENOSPC;
      return false;
    }
    for (auto left = size_t(done); left > 0;) { // past what was written
      if (left >= iov[at].iov_len) {
        left -= iov[at++].iov_len;
      } else {
        iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + left;
        iov[at].iov_len -= left;
        left = 0;
      }
    }
  }
  return true;
}

} // namespace

Result<void> write_file_atomic(const std::string& path, std::span<const std::string_view> pieces,
                               int mode, Durable durable) {
  // A temp name no other writer (another thread, or a process of another
  // pid namespace with our pid) picks: seeded once per thread, since a
  // random_device is an open and a read each time.
  thread_local std::mt19937_64 unique{std::random_device{}()};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(unique());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Failure{errno_message(tmp, errno)};
  if (!write_pieces(fd, pieces)) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Failure{errno_message(path, err)};
  }
  if ((durable == Durable::yes && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Failure{errno_message(path, err)};
  }
  // A file that need not survive a crash is unlinked first: renamed over
  // an old one, ext4 writes the new one's data back at once (auto_da_alloc,
  // ~0.2 ms here), which is only worth it for what must survive. A reader
  // may find it missing meanwhile, as after a crash.
  if (durable == Durable::no) ::unlink(path.c_str());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Failure{errno_message(path, err)};
  }
  return {};
}

Result<void> append_file(const std::string& path, std::string_view data, Durable durable) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message(path, errno)};
  ssize_t n;
  do n = ::write(fd, data.data(), data.size());
  while (n < 0 && errno == EINTR);
  int err = 0;
  if (n < 0)
    err = errno;
  else if (size_t(n) != data.size())
    err = ENOSPC; // a short write: the disk is full
  else if (durable == Durable::yes && ::fsync(fd) != 0)
    err = errno;
  ::close(fd);
  if (err) return Failure{errno_message(path, err)};
  return {};
}

// One stat when the dir exists (most calls: the cache's dirs on every
// build); else a mkdir, its parents made first when missing.
Result<void> make_dirs(const std::string& path, int mode) {
  if (path.empty() || is_dir(path)) return {};
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return {};
  if (size_t slash = path.find_last_of('/');
      errno == ENOENT && slash != 0 && slash != std::string::npos) {
    std::string parent = path.substr(0, slash);
    if (auto r = make_dirs(parent, mode); !r) return r;
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return {};
  }
  if (errno != EEXIST) return Failure{errno_message("mkdir " + path, errno)};
  if (!is_dir(path)) return Failure{path + ": exists and is not a directory"};
  return {};
}

Result<void> remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Failure{path + ": " + ec.message()};
  return {};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> make_temp_dir(const std::string& parent, std::string_view prefix) {
  std::string templ = join(parent, std::string(prefix) + "XXXXXX");
  if (!::mkdtemp(templ.data())) return Failure{errno_message("mkdtemp " + templ, errno)};
  return templ;
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string dirname(std::string_view path) {
  size_t pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string basename(std::string_view path) {
  size_t pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

std::string normalize(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..")
        parts.pop_back();
      else if (!absolute)
        parts.push_back(part);
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  if (out.empty()) out = ".";
  return out;
}

TempDir::TempDir(const std::string& parent, std::string_view prefix)
    : path_(make_temp_dir(parent, prefix).take()) {}

TempDir::~TempDir() {
  if (!path_.empty()) (void)remove_all(path_);
}

std::string TempDir::release() {
  return std::exchange(path_, std::string());
}

std::string current_dir() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string(".") : p.string();
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return Failure{errno_message("open directory " + path, errno)};
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

} // namespace earth::fs
