// The stat cache's index: a flat binary file, little-endian, ending in the
// SHA-256 of what precedes it (docs/formats.md#stat-cache).
#include "earth/base/stat_cache.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "earth/base/fs.h"

namespace earth {

namespace {

constexpr size_t kHeader = 16 + 4 + 4 + 8; // magic, version, reserved, count
constexpr size_t kFixed = 4 + 8 * 5 + Digest::size;
constexpr size_t kMaxEntries = 1 << 22;

int64_t realtime_ns() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void put32(std::string& out, uint32_t v) {
  v = htole32(v);
  out.append(reinterpret_cast<const char*>(&v), 4);
}
void put64(std::string& out, uint64_t v) {
  v = htole64(v);
  out.append(reinterpret_cast<const char*>(&v), 8);
}

class Reader {
public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool has(size_t n) const { return b_.size() - pos_ >= n; }
  uint32_t u32() {
    uint32_t v;
    std::memcpy(&v, b_.data() + pos_, 4);
    pos_ += 4;
    return le32toh(v);
  }
  uint64_t u64() {
    uint64_t v;
    std::memcpy(&v, b_.data() + pos_, 8);
    pos_ += 8;
    return le64toh(v);
  }
  std::string_view bytes(size_t n) {
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ == b_.size(); }

private:
  std::string_view b_;
  size_t pos_ = 0;
};

} // namespace

StatKey StatKey::of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<int64_t>(st.st_size),
          int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

StatCache::StatCache(std::string index_path, const Disk& disk, Clock clock)
    : index_path_(std::move(index_path)), disk_(disk),
      clock_(clock ? std::move(clock) : Clock(realtime_ns)) {}

std::unique_ptr<StatCache> StatCache::open(std::string index_path, const Disk& disk, Clock clock) {
  auto cache = std::make_unique<StatCache>(index_path, disk, std::move(clock));
  if (auto bytes = fs::read_file(index_path); bytes && !cache->decode(*bytes))
    cache->entries_.clear();
  return cache;
}

// A timestamp within the granularity of the filesystem's clock of the
// moment the file was hashed may be shared by a later write. Timestamps
// with nanoseconds come from the kernel's coarse clock (a tick, at most
// 10 ms); whole seconds may come from a filesystem that keeps only those.
bool racy(const StatKey& st, int64_t at) {
  bool whole_seconds = st.mtime_ns % 1000000000 == 0 && st.ctime_ns % 1000000000 == 0;
  int64_t window = whole_seconds ? 2000000000 : 20000000;
  return std::max(st.mtime_ns, st.ctime_ns) + window > at;
}

Result<Digest> StatCache::digest(const std::string& path, const StatKey& st) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(path);
    if (it != entries_.end() && it->second.st == st) {
      it->second.used = true;
      ++hits_;
      return it->second.digest;
    }
  }
  int64_t hashed_at = clock_();
  auto d = disk_.digest_file(path);
  if (!d) return d;
  ++reads_;
  std::lock_guard lock(mu_);
  if (racy(st, hashed_at)) {
    dirty_ |= entries_.erase(path) > 0;
  } else {
    entries_[path] = {st, *d, true};
    dirty_ = true;
  }
  return d;
}

size_t StatCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::string StatCache::encode() const {
  std::lock_guard lock(mu_);
  std::string out(kStatCacheMagic);
  put32(out, kStatCacheVersion);
  put32(out, 0);
  put64(out, entries_.size());
  for (const auto& [path, e] : entries_) {
    put32(out, static_cast<uint32_t>(path.size()));
    out += path;
    put64(out, e.st.dev);
    put64(out, e.st.ino);
    put64(out, static_cast<uint64_t>(e.st.size));
    put64(out, static_cast<uint64_t>(e.st.mtime_ns));
    put64(out, static_cast<uint64_t>(e.st.ctime_ns));
    out.append(reinterpret_cast<const char*>(e.digest.bytes().data()), Digest::size);
  }
  Digest sum = Digest::of(out);
  out.append(reinterpret_cast<const char*>(sum.bytes().data()), Digest::size);
  return out;
}

bool StatCache::decode(std::string_view bytes) {
  if (bytes.size() < kHeader + Digest::size) return false;
  std::string_view body = bytes.substr(0, bytes.size() - Digest::size);
  if (std::memcmp(Digest::of(body).bytes().data(), bytes.data() + body.size(), Digest::size) != 0)
    return false;
  Reader r(body);
  if (r.bytes(kStatCacheMagic.size()) != kStatCacheMagic) return false;
  if (r.u32() != kStatCacheVersion) return false;
  r.u32();
  uint64_t count = r.u64();
  if (count > kMaxEntries) return false;
  std::unordered_map<std::string, Entry> entries;
  entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!r.has(4)) return false;
    uint32_t len = r.u32();
    if (!r.has(size_t(len) + kFixed - 4)) return false;
    std::string path(r.bytes(len));
    Entry e;
    e.st.dev = r.u64();
    e.st.ino = r.u64();
    e.st.size = static_cast<int64_t>(r.u64());
    e.st.mtime_ns = static_cast<int64_t>(r.u64());
    e.st.ctime_ns = static_cast<int64_t>(r.u64());
    std::array<uint8_t, Digest::size> d;
    std::memcpy(d.data(), r.bytes(Digest::size).data(), Digest::size);
    e.digest = Digest(d);
    entries.emplace(std::move(path), e);
  }
  if (!r.done()) return false;
  std::lock_guard lock(mu_);
  entries_ = std::move(entries);
  dirty_ = false;
  return true;
}

Result<void> StatCache::save(size_t slack) {
  {
    std::lock_guard lock(mu_);
    if (!dirty_ || index_path_.empty()) return {};
    size_t used = 0;
    for (const auto& [path, e] : entries_) used += e.used;
    if (entries_.size() - used > used + slack)
      std::erase_if(entries_, [](const auto& kv) { return !kv.second.used; });
  }
  // Not fsynced: a power cut leaves the old index, or bytes whose checksum
  // fails and an empty cache (docs/formats.md#stat-cache); an fsync here
  // cost 2–8 ms of every build that hashed a file.
  if (auto r = fs::write_file_atomic(index_path_, encode(), 0644, fs::Durable::no); !r) return r;
  std::lock_guard lock(mu_);
  dirty_ = false;
  return {};
}

} // namespace earth
