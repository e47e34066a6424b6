// The stat cache's index: a flat binary file, little-endian: the compacted
// entries and a checksum of them, then appended records, each followed by
// a checksum of its own (docs/formats.md#stat-cache). The checksums are
// checksum64, eight bytes a step: SHA-256 of a 64 KB index was a quarter of
// a partial build's instructions, and byte-wise FNV-1a of a 600 KB one
// (1,000 services) 0.86 ms of every build that opened the store.
#include "earth/base/stat_cache.h"

#include <endian.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include "earth/base/fs.h"

namespace earth {

namespace {

constexpr size_t kHeader = 16 + 4 + 4 + 8; // magic, version, reserved, count
constexpr size_t kFixed = 4 + 8 * 5 + Digest::size;
constexpr size_t kMaxEntries = 1 << 22;
constexpr size_t kMaxPath = 1 << 16; // longer: a damaged record
constexpr size_t kCheck = 8;         // a checksum's bytes: checksum64, little-endian

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
  size_t pos() const { return pos_; }

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
  // Mapped (fs::map_file): earth never truncates the index in place (it
  // appends, or renames a new one over it); every page is read.
  if (auto bytes = fs::map_file(index_path, true);
      bytes && !cache->decode_view(bytes->bytes, bytes->keep))
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
      used_ += !it->second.used;
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
  auto it = entries_.find(path);
  if (racy(st, hashed_at)) {
    if (it != entries_.end()) { // the index may keep it: its stat can match no later lstat
      used_ -= it->second.used;
      entries_.erase(it);
    }
  } else {
    if (it == entries_.end())
      it = entries_.emplace(std::string_view(added_.emplace_back(path)), Entry{}).first;
    used_ += !it->second.used;
    if (!it->second.fresh) fresh_.push_back(it->first);
    it->second = {st, *d, true, true};
  }
  return d;
}

size_t StatCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

namespace {

void put_entry(std::string& out, std::string_view path, const StatKey& st, const Digest& d) {
  put32(out, static_cast<uint32_t>(path.size()));
  out += path;
  put64(out, st.dev);
  put64(out, st.ino);
  put64(out, static_cast<uint64_t>(st.size));
  put64(out, static_cast<uint64_t>(st.mtime_ns));
  put64(out, static_cast<uint64_t>(st.ctime_ns));
  out.append(reinterpret_cast<const char*>(d.bytes().data()), Digest::size);
}

// One entry; nullopt when the bytes end first or the path is too long.
std::optional<std::pair<std::string_view, StatKey>> get_entry(Reader& r, Digest& digest) {
  if (!r.has(4)) return std::nullopt;
  uint32_t len = r.u32();
  if (len > kMaxPath || !r.has(size_t(len) + kFixed - 4)) return std::nullopt;
  std::string_view path = r.bytes(len);
  StatKey st;
  st.dev = r.u64();
  st.ino = r.u64();
  st.size = static_cast<int64_t>(r.u64());
  st.mtime_ns = static_cast<int64_t>(r.u64());
  st.ctime_ns = static_cast<int64_t>(r.u64());
  std::array<uint8_t, Digest::size> d;
  std::memcpy(d.data(), r.bytes(Digest::size).data(), Digest::size);
  digest = Digest(d);
  return std::pair{path, st};
}

} // namespace

std::string StatCache::encode() const {
  std::lock_guard lock(mu_);
  std::string out(kStatCacheMagic);
  put32(out, kStatCacheVersion);
  put32(out, 0);
  put64(out, entries_.size());
  for (const auto& [path, e] : entries_) put_entry(out, path, e.st, e.digest);
  put64(out, checksum64(out));
  return out;
}

std::string StatCache::encode_record(std::string_view path, const StatKey& st,
                                     const Digest& digest) {
  std::string out;
  put_entry(out, path, st, digest);
  put64(out, checksum64(out));
  return out;
}

bool StatCache::decode(std::string bytes) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  return decode_view(*owned, owned);
}

bool StatCache::decode_view(std::string_view bytes, std::shared_ptr<const void> keep) {
  if (bytes.size() < kHeader + kCheck) return false;
  Reader r(bytes);
  if (r.bytes(kStatCacheMagic.size()) != kStatCacheMagic) return false;
  if (r.u32() != kStatCacheVersion) return false;
  r.u32();
  uint64_t count = r.u64();
  if (count > kMaxEntries) return false;
  std::unordered_map<std::string_view, Entry> entries;
  entries.reserve(count + count / 8);
  Digest d;
  for (uint64_t i = 0; i < count; ++i) {
    auto e = get_entry(r, d);
    if (!e) return false;
    entries.emplace(e->first, Entry{e->second, d});
  }
  size_t body = r.pos();
  if (!r.has(kCheck) || r.u64() != checksum64(bytes.substr(0, body))) return false;
  // Appended records, up to the first that ends early or fails its check.
  size_t appended = 0;
  bool torn = false;
  while (!r.done()) {
    size_t at = r.pos();
    auto e = get_entry(r, d);
    if (!e || !r.has(kCheck)) {
      torn = true;
      break;
    }
    if (checksum64(bytes.substr(at, r.pos() - at)) != r.u64()) {
      torn = true;
      break;
    }
    entries.insert_or_assign(e->first, Entry{e->second, d});
    ++appended;
  }
  std::lock_guard lock(mu_);
  entries_ = std::move(entries);
  loaded_ = std::move(keep); // what the paths of `entries` point into
  added_.clear();
  fresh_.clear();
  used_ = 0;
  appendable_ = !torn;
  compacted_ = count;
  appended_ = appended;
  torn_ = torn;
  return true;
}

// Appends `records` to the index when it is still one this version reads
// (another process may have rewritten it since it was loaded).
Result<void> StatCache::append(const std::string& records) {
  int fd = ::open(index_path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message(index_path_, errno)};
  char head[kHeader];
  uint32_t version = 0;
  bool ours = ::pread(fd, head, sizeof head, 0) == ssize_t(sizeof head) &&
              std::string_view(head, kStatCacheMagic.size()) == kStatCacheMagic;
  if (ours) std::memcpy(&version, head + kStatCacheMagic.size(), 4);
  ours = ours && le32toh(version) == kStatCacheVersion;
  // One write: records of processes ending at once do not interleave.
  bool written = ours && ::write(fd, records.data(), records.size()) == ssize_t(records.size());
  int err = errno;
  ::close(fd);
  if (!written)
    return Failure{ours ? errno_message(index_path_, err) : index_path_ + ": rewritten"};
  return {};
}

Result<void> StatCache::save(size_t slack) {
  std::string records;
  size_t fresh = 0;
  bool rewrite = false;
  {
    std::lock_guard lock(mu_);
    if (fresh_.empty() || index_path_.empty()) return {};
    bool prune = entries_.size() - used_ > used_ + slack;
    if (prune) std::erase_if(entries_, [](const auto& kv) { return !kv.second.used; });
    std::sort(fresh_.begin(), fresh_.end()); // a path recorded, erased, recorded: once
    fresh_.erase(std::unique(fresh_.begin(), fresh_.end()), fresh_.end());
    for (auto path : fresh_) // those racy since are gone
      if (auto it = entries_.find(path); it != entries_.end() && it->second.fresh) {
        ++fresh;
        records += encode_record(path, it->second.st, it->second.digest);
      }
    rewrite = prune || !appendable_ || appended_ + fresh > compacted_ / 2 + kAppendSlack;
  }
  // Neither is fsynced: a power cut leaves the old index, or a torn tail or
  // bytes whose checksum fails, which are dropped (docs/formats.md#stat-cache);
  // an fsync here cost 2–8 ms of every build that hashed a file.
  if (!rewrite && append(records)) {
    std::lock_guard lock(mu_);
    saved_fresh();
    appended_ += fresh;
    return {};
  }
  if (auto r = fs::write_file_atomic(index_path_, encode(), 0644, fs::Durable::no); !r) return r;
  std::lock_guard lock(mu_);
  saved_fresh();
  appendable_ = true;
  compacted_ = entries_.size();
  appended_ = 0;
  torn_ = false;
  return {};
}

// Every entry is as the index on disk has it (called locked).
void StatCache::saved_fresh() {
  for (auto path : fresh_)
    if (auto it = entries_.find(path); it != entries_.end()) it->second.fresh = false;
  fresh_.clear();
}

} // namespace earth
