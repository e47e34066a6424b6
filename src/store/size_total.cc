#include "earth/store/size_total.h"

#include "earth/base/digest.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "earth/base/fs.h"

namespace earth::store {

namespace {

constexpr std::string_view header = "earth-size 1 ";

// Tells a whole line from a torn one (a power cut mid-write).
uint64_t checksum(std::string_view text) {
  return fnv1a64(text);
}

bool take_number(std::string_view& text, int64_t& v, int base = 10) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || p == text.data()) return false;
  text.remove_prefix(size_t(p - text.data()));
  if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
  return true;
}

} // namespace

std::string size_total_path(const std::string& cache_dir) {
  return fs::join(cache_dir, "size");
}

std::string format_size_total(const SizeTotal& t) {
  char body[96];
  int n = std::snprintf(body, sizeof body, "%s%020" PRId64 " %020" PRId64 " %020" PRId64,
                        std::string(header).c_str(), t.total, t.added, t.folds);
  std::string line(body, size_t(n));
  char sum[24];
  std::snprintf(sum, sizeof sum, " %016" PRIx64 "\n", checksum(line));
  return line + sum;
}

std::optional<SizeTotal> parse_size_total(std::string_view text) {
  if (!text.starts_with(header) || !text.ends_with("\n")) return std::nullopt;
  size_t sum_at = text.rfind(' ');
  std::string_view body = text.substr(0, sum_at);
  std::string_view sum = text.substr(sum_at + 1, text.size() - sum_at - 2);
  uint64_t want = 0;
  auto [p, ec] = std::from_chars(sum.data(), sum.data() + sum.size(), want, 16);
  if (ec != std::errc() || p != sum.data() + sum.size() || sum.size() != 16 ||
      want != checksum(body))
    return std::nullopt;
  std::string_view rest = body.substr(header.size());
  SizeTotal t;
  if (!take_number(rest, t.total) || !take_number(rest, t.added) || !take_number(rest, t.folds) ||
      !rest.empty() || t.total < -1 || t.added < 0 || t.folds < 0)
    return std::nullopt;
  return t;
}

Result<SizeRecord> SizeRecord::lock(const std::string& cache_dir) {
  std::string path = size_total_path(cache_dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Failure{errno_message(path, errno)};
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Failure{errno_message("lock " + path, err)};
  }
  return SizeRecord(fd, std::move(path));
}

SizeRecord::~SizeRecord() {
  if (fd_ >= 0) ::close(fd_); // releases the flock
}

std::optional<SizeTotal> SizeRecord::read() const {
  char buf[160];
  ssize_t n = ::pread(fd_, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return parse_size_total(std::string_view(buf, size_t(n)));
}

Result<void> SizeRecord::write(const SizeTotal& t) {
  // One short pwrite over a line of the same length: a kill cannot tear it
  // (a power cut may, and the checksum then makes it unknown). No fsync:
  // losing the last folds is an error the periodic recount corrects.
  std::string line = format_size_total(t);
  if (::pwrite(fd_, line.data(), line.size(), 0) != ssize_t(line.size()) ||
      ::ftruncate(fd_, off_t(line.size())) != 0)
    return Failure{errno_message(path_, errno)};
  return {};
}

Result<SizeTotal> add_to_size_total(const std::string& cache_dir, int64_t bytes) {
  auto record = SizeRecord::lock(cache_dir);
  if (!record) return Failure{record.error()};
  SizeTotal t = record->read_or_unknown();
  if (bytes <= 0) return t;
  t.added += bytes;
  if (t.total >= 0) t.total += bytes;
  ++t.folds;
  if (auto r = record->write(t); !r) return Failure{r.error()};
  return t;
}

Result<SizeRecount> SizeRecount::begin(const std::string& cache_dir) {
  auto record = SizeRecord::lock(cache_dir);
  if (!record) return Failure{record.error()};
  auto t = record->read();
  if (!t) {
    t = SizeTotal{};
    if (auto r = record->write(*t); !r) return Failure{r.error()};
  }
  return SizeRecount(cache_dir, t->added);
}

Result<void> SizeRecount::finish(int64_t exact) const {
  auto record = SizeRecord::lock(cache_dir_);
  if (!record) return Failure{record.error()};
  // A record unreadable now, or made afresh meanwhile (removed by hand):
  // what was folded since begin is not known, so neither is the total.
  SizeTotal t;
  if (auto now = record->read(); now && now->added >= added_)
    t = {exact + (now->added - added_), now->added, 0};
  return record->write(t);
}

} // namespace earth::store
