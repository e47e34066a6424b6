#include "earth/store/empty_steps.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "earth/base/fs.h"

namespace earth::store {

namespace {

constexpr size_t kHexLength = 64;

bool is_hex_key(std::string_view s) {
  if (s.size() != kHexLength) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Writes the header into a log this process created. Others that open it
// before the header is complete read nothing until it is.
bool write_header(int fd) {
  size_t n = std::strlen(EmptySteps::kHeader);
  return ::write(fd, EmptySteps::kHeader, n) == static_cast<ssize_t>(n);
}

} // namespace

Result<std::shared_ptr<EmptySteps>> EmptySteps::open(const std::string& cache_dir) {
  std::string path = fs::join(cache_dir, "steps-empty");
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  bool made = fd >= 0;
  if (!made && errno == EEXIST) fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message("open " + path, errno)};
  if (made && !write_header(fd)) {
    int err = errno;
    ::close(fd);
    return Failure{errno_message("write " + path, err)};
  }
  auto log = std::shared_ptr<EmptySteps>(new EmptySteps(fd, true));
  std::lock_guard lock(log->mutex_);
  log->catch_up();
  return log;
}

EmptySteps::~EmptySteps() {
  ::close(fd_);
}

// Reads the lines appended since the last call. The first line must be the
// header; a line that is not 64 lower-case hex digits (a write torn by a
// crash, with whatever was appended after it on the same line) is skipped.
void EmptySteps::catch_up() {
  if (!usable_) return;
  char buf[16384];
  for (;;) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, read_to_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    read_to_ += n;
    partial_.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(partial_.data() + start, nl - start);
      if (!header_seen_) { // the first line
        header_seen_ = true;
        if (std::string_view(kHeader).substr(0, std::strlen(kHeader) - 1) != line) {
          usable_ = false;
          return;
        }
        continue;
      }
      if (is_hex_key(line)) keys_.emplace(line);
    }
    partial_.erase(0, start);
  }
}

bool EmptySteps::has(const Digest& key) {
  std::lock_guard lock(mutex_);
  std::string hex = key.hex();
  if (keys_.contains(hex)) return true;
  catch_up();
  return keys_.contains(hex);
}

bool EmptySteps::known(const Digest& key) const {
  std::lock_guard lock(mutex_);
  return keys_.contains(key.hex());
}

bool EmptySteps::add(const Digest& key) {
  std::lock_guard lock(mutex_);
  catch_up();
  if (!usable_ || !header_seen_) return false; // another version, or no header yet
  std::string line = key.hex() + "\n";
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
  keys_.insert(key.hex());
  return true;
}

} // namespace earth::store
