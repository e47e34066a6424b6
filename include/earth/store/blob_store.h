// The content-addressed blob store: <cache>/blobs/sha256/<hex>. A blob is
// written to <cache>/tmp, its digest checked, then renamed into place, so a
// blob that exists is always whole and always matches its name.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::store {

// $EARTH_CACHE_DIR, else $XDG_CACHE_HOME/earth, else $HOME/.cache/earth.
std::string default_cache_dir();

class BlobStore {
public:
  // Creates <cache_dir>/blobs/sha256 and <cache_dir>/tmp when missing.
  static Result<BlobStore> open(const std::string& cache_dir);

  std::string path(const Digest& d) const;
  bool has(const Digest& d) const;
  // Stores `data`; when `expected` is set, refuses data with another digest.
  Result<Digest> put(std::string_view data, std::optional<Digest> expected = std::nullopt);
  // Copies the file at `src` into the store, verifying `expected` when set.
  Result<Digest> put_file(const std::string& src, std::optional<Digest> expected = std::nullopt);
  // Reads a whole blob (manifests, configs: small).
  Result<std::string> get(const Digest& d) const;
  Result<void> remove(const Digest& d);
  // This process's temp dir (store::process_temp_dir): removed on SIGINT and
  // SIGTERM, and by the next store opened after a SIGKILL.
  std::string tmp_dir() const;

  // Streams a blob in: write() pieces, then commit(). A Writer dropped
  // without commit() leaves nothing behind.
  class Writer {
  public:
    Writer(Writer&& other) noexcept;
    Writer(const Writer&) = delete;
    ~Writer();
    Result<void> write(const void* data, size_t len);
    uint64_t size() const { return size_; }
    // Checks the digest (against `expected` when set) and renames into place.
    Result<Digest> commit(std::optional<Digest> expected = std::nullopt);

  private:
    friend class BlobStore;
    Writer(const BlobStore* store, std::string tmp, FILE* file)
        : store_(store), tmp_(std::move(tmp)), file_(file), sha_(std::make_unique<Sha256>()) {}
    const BlobStore* store_;
    std::string tmp_;
    FILE* file_;
    std::unique_ptr<Sha256> sha_;
    uint64_t size_ = 0;
  };
  Result<Writer> writer() const;

private:
  explicit BlobStore(std::string root, std::string cache)
      : root_(std::move(root)), cache_(std::move(cache)) {}
  std::string root_;  // <cache>/blobs/sha256
  std::string cache_; // <cache>
};

} // namespace earth::store
