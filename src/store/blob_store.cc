#include "earth/store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>

#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/store/cleanup.h"
#include "earth/store/durable.h"
#include "earth/store/layout.h"
#include "earth/store/usage.h"

namespace earth::store {

std::string default_cache_dir() {
  if (const char* dir = std::getenv("EARTH_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::join(xdg, "earth");
  const char* home = std::getenv("HOME");
  return fs::join(home && *home ? home : "/tmp", ".cache/earth");
}

Result<BlobStore> BlobStore::open(const std::string& cache_dir) {
  if (auto r = check_layout(cache_dir); !r) return Failure{r.error()};
  std::string root = fs::join(cache_dir, "blobs/sha256");
  std::string tmp = fs::join(cache_dir, "tmp");
  if (auto r = fs::make_dirs(root); !r) return Failure{r.error()};
  if (auto r = fs::make_dirs(tmp); !r) return Failure{r.error()};
  return BlobStore(root, cache_dir);
}

std::string BlobStore::tmp_dir() const {
  auto dir = process_temp_dir(cache_);
  return dir ? *dir : fs::join(cache_, "tmp");
}

std::string BlobStore::path(const Digest& d) const {
  return fs::join(root_, d.hex());
}

bool BlobStore::has(const Digest& d) const {
  (void)record_use(cache_, EntryKind::blob, d.hex()); // leased before looked up
  return fs::exists(path(d));
}

Result<BlobStore::Writer> BlobStore::writer() const {
  auto dir = process_temp_dir(cache_);
  if (!dir) return Failure{dir.error()};
  std::string tmp = fs::join(*dir, "blob-" + std::to_string(std::random_device{}()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Failure{errno_message(tmp, errno)};
  FILE* file = ::fdopen(fd, "wb");
  if (!file) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Failure{errno_message(tmp, errno)};
  }
  return Writer(this, tmp, file);
}

BlobStore::Writer::Writer(Writer&& other) noexcept
    : store_(other.store_), tmp_(std::move(other.tmp_)), file_(other.file_),
      sha_(std::move(other.sha_)), size_(other.size_) {
  other.file_ = nullptr;
  other.tmp_.clear();
}

BlobStore::Writer::~Writer() {
  if (file_) std::fclose(file_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<void> BlobStore::Writer::write(const void* data, size_t len) {
  if (!file_) return Failure{"blob writer already closed"};
  if (len && std::fwrite(data, 1, len, file_) != len) return Failure{errno_message(tmp_, errno)};
  sha_->update(data, len);
  size_ += len;
  return {};
}

Result<Digest> BlobStore::Writer::commit(std::optional<Digest> expected) {
  if (!file_) return Failure{"blob writer already closed"};
  Digest got = sha_->finish();
  bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!flushed) return Failure{errno_message(tmp_, err)};
  if (expected && *expected != got)
    return Failure{"digest mismatch: expected " + expected->oci() + ", got " + got.oci()};
  std::string dest = store_->path(got);
  (void)record_use(store_->cache_, EntryKind::blob, got.hex()); // leased before it appears
  if (::rename(tmp_.c_str(), dest.c_str()) != 0) return Failure{errno_message(dest, errno)};
  tmp_.clear();
  (void)sync_dir(store_->root_); // the rename is durable before an index names the blob
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0)
    (void)record_use(store_->cache_, EntryKind::blob, got.hex(), int64_t(st.st_blocks) * 512);
  kill_point("blob-recorded");
  return got;
}

Result<Digest> BlobStore::put(std::string_view data, std::optional<Digest> expected) {
  if (expected && has(*expected)) {
    if (Digest::of(data) != *expected)
      return Failure{"digest mismatch: expected " + expected->oci()};
    return *expected;
  }
  auto w = writer();
  if (!w) return Failure{w.error()};
  if (auto r = w->write(data.data(), data.size()); !r) return Failure{r.error()};
  return w->commit(expected);
}

Result<Digest> BlobStore::put_file(const std::string& src, std::optional<Digest> expected) {
  if (expected && has(*expected)) return *expected;
  FILE* in = std::fopen(src.c_str(), "rb");
  if (!in) return Failure{errno_message(src, errno)};
  auto w = writer();
  if (!w) {
    std::fclose(in);
    return Failure{w.error()};
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
    if (auto r = w->write(buf, n); !r) {
      std::fclose(in);
      return Failure{r.error()};
    }
  }
  bool failed = std::ferror(in);
  std::fclose(in);
  if (failed) return Failure{"read error: " + src};
  auto d = w->commit(expected);
  if (!d) return Failure{src + ": " + d.error()};
  return d;
}

Result<std::string> BlobStore::get(const Digest& d) const {
  (void)record_use(cache_, EntryKind::blob, d.hex());
  auto data = fs::read_file(path(d));
  if (!data) return Failure{"blob " + d.oci() + " is not in the store (" + data.error() + ")"};
  return data;
}

Result<void> BlobStore::remove(const Digest& d) {
  if (::unlink(path(d).c_str()) != 0 && errno != ENOENT)
    return Failure{errno_message(path(d), errno)};
  return {};
}

} // namespace earth::store
