// libarchive helpers private to the image module.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::image {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

inline std::string archive_message(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// The decompressed byte stream of a blob (gzip, zstd, xz or none), hashed as
// it is read so the caller gets the diff_id for free.
class Decompressed {
public:
  Result<void> open(const std::string& path);
  // Reads up to `len` bytes; 0 at the end; -1 on error (see error()).
  ssize_t read(void* buf, size_t len);
  // Reads what the consumer left (tar padding) so the digest covers it all.
  Result<Digest> finish();
  const std::string& error() const { return error_; }
  uint64_t total() const { return total_; }

private:
  std::string path_;
  ReadArchive outer_;
  Sha256 sha_;
  bool eof_ = false;
  uint64_t total_ = 0;
  std::string error_;
};

} // namespace earth::image
