#include "archive_util.h"

namespace earth::image {

Result<void> Decompressed::open(const std::string& path) {
  path_ = path;
  outer_.reset(archive_read_new());
  archive_read_support_filter_all(outer_.get());
  archive_read_support_format_raw(outer_.get());
  if (archive_read_open_filename(outer_.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Failure{path + ": " + archive_message(outer_.get())};
  archive_entry* e = nullptr;
  int r = archive_read_next_header(outer_.get(), &e);
  if (r == ARCHIVE_EOF)
    eof_ = true; // an empty blob
  else if (r != ARCHIVE_OK)
    return Failure{path + ": " + archive_message(outer_.get())};
  return {};
}

ssize_t Decompressed::read(void* buf, size_t len) {
  if (eof_) return 0;
  la_ssize_t n = archive_read_data(outer_.get(), buf, len);
  if (n < 0) {
    error_ = path_ + ": " + archive_message(outer_.get());
    return -1;
  }
  if (n == 0) eof_ = true;
  sha_.update(buf, static_cast<size_t>(n));
  total_ += static_cast<uint64_t>(n);
  return n;
}

Result<Digest> Decompressed::finish() {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(buf, sizeof buf);
    if (n < 0) return Failure{error_};
    if (n == 0) break;
  }
  return sha_.finish();
}

} // namespace earth::image
