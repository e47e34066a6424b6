// Packing a directory (a sandbox's overlayfs upper dir) into a layer blob.
// Entries are written in byte order of their paths, owners as numbers and no
// user names, so the same tree always gives the same tar.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>
#include <vector>

#include "archive_util.h"
#include "earth/base/fs.h"
#include "earth/image/layer.h"

namespace earth::image {

namespace {

// tar bytes -> diff_id hash -> (compressor ->) blob writer.
struct Sink {
  store::BlobStore::Writer* blob;
  archive* compressor = nullptr; // null for uncompressed layers
  Sha256 diff_sha;
  std::string error;
};

la_ssize_t to_blob(archive*, void* client, const void* data, size_t len) {
  auto* sink = static_cast<Sink*>(client);
  if (auto r = sink->blob->write(data, len); !r) {
    sink->error = r.error();
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

la_ssize_t from_tar(archive* a, void* client, const void* data, size_t len) {
  auto* sink = static_cast<Sink*>(client);
  sink->diff_sha.update(data, len);
  if (!sink->compressor) return to_blob(a, client, data, len);
  if (archive_write_data(sink->compressor, data, len) < 0) {
    sink->error = archive_message(sink->compressor);
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

bool is_overlay_xattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

void copy_xattrs(const std::string& path, archive_entry* e) {
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len <= 0) return;
  for (size_t pos = 0; pos < static_cast<size_t>(len);) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    if (is_overlay_xattr(name)) continue;
    ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vlen >= 0)
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), static_cast<size_t>(vlen));
  }
}

class Packer {
public:
  Packer(std::string root, archive* tar, const LayerWriteOptions& opts)
      : root_(std::move(root)), tar_(tar), opts_(opts) {}
  Result<void> walk(const std::string& rel);

private:
  Result<void> add(const std::string& rel, const struct stat& st);
  Result<void> add_empty_file(const std::string& rel);
  Result<void> write_entry(archive_entry* e, const std::string& rel, int fd);
  std::string abs(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

  std::string root_;
  archive* tar_;
  const LayerWriteOptions& opts_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_; // first path of each hardlinked inode
};

Result<void> Packer::walk(const std::string& rel) {
  DIR* d = ::opendir(abs(rel).c_str());
  if (!d) return Failure{errno_message(abs(rel), errno)};
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    struct stat st {};
    if (::lstat(abs(child).c_str(), &st) != 0) return Failure{errno_message(abs(child), errno)};
    if (auto r = add(child, st); !r) return r;
    if (S_ISDIR(st.st_mode)) {
      if (opts_.overlay_whiteouts && is_opaque_dir(abs(child)))
        if (auto r = add_empty_file(child + "/.wh..wh..opq"); !r) return r;
      if (auto r = walk(child); !r) return r;
    }
  }
  return {};
}

Result<void> Packer::add_empty_file(const std::string& rel) {
  Entry e(archive_entry_new());
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), opts_.fixed_mtime >= 0 ? opts_.fixed_mtime : 0, 0);
  return write_entry(e.get(), rel, -1);
}

Result<void> Packer::add(const std::string& rel, const struct stat& st) {
  if (opts_.overlay_whiteouts && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
    std::string dir = fs::dirname(rel);
    return add_empty_file((dir == "." ? "" : dir + "/") + ".wh." + fs::basename(rel));
  }
  Entry e(archive_entry_new());
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_copy_stat(e.get(), &st);
  archive_entry_unset_atime(e.get());
  archive_entry_unset_ctime(e.get());
  archive_entry_unset_birthtime(e.get());
  archive_entry_set_ino64(e.get(), 0);
  archive_entry_set_dev(e.get(), 0);
  archive_entry_set_nlink(e.get(), 1);
  if (opts_.fixed_mtime >= 0) archive_entry_set_mtime(e.get(), opts_.fixed_mtime, 0);
  copy_xattrs(abs(rel), e.get());
  if (S_ISLNK(st.st_mode)) {
    std::string target(4096, '\0');
    ssize_t n = ::readlink(abs(rel).c_str(), target.data(), target.size());
    if (n < 0) return Failure{errno_message(abs(rel), errno)};
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(e.get(), target.c_str());
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
    if (!first) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      archive_entry_set_size(e.get(), 0);
      return write_entry(e.get(), rel, -1);
    }
  }
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return write_entry(e.get(), rel, -1);
  int fd = ::open(abs(rel).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failure{errno_message(abs(rel), errno)};
  auto r = write_entry(e.get(), rel, fd);
  ::close(fd);
  return r;
}

Result<void> Packer::write_entry(archive_entry* e, const std::string& rel, int fd) {
  if (archive_write_header(tar_, e) < ARCHIVE_WARN)
    return Failure{"layer entry " + rel + ": " + archive_message(tar_)};
  if (fd < 0) return {};
  char buf[1 << 16];
  la_int64_t left = archive_entry_size(e);
  while (left > 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure{errno_message(abs(rel), errno)};
    if (n == 0) return Failure{abs(rel) + ": file shrank while being packed"};
    size_t chunk = static_cast<size_t>(std::min<la_int64_t>(n, left));
    if (archive_write_data(tar_, buf, chunk) < 0)
      return Failure{"layer entry " + rel + ": " + archive_message(tar_)};
    left -= static_cast<la_int64_t>(chunk);
  }
  return {};
}

Result<void> open_compressor(archive* a, Compression c, Sink* sink) {
  archive_write_set_format_raw(a);
  if (c == Compression::gzip) {
    archive_write_add_filter_gzip(a);
    archive_write_set_filter_option(a, "gzip", "timestamp", nullptr); // reproducible bytes
  } else {
    archive_write_add_filter_zstd(a);
  }
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open(a, sink, nullptr, to_blob, nullptr) != ARCHIVE_OK)
    return Failure{"layer compressor: " + archive_message(a)};
  Entry e(archive_entry_new());
  archive_entry_set_pathname(e.get(), "layer.tar");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK)
    return Failure{"layer compressor: " + archive_message(a)};
  return {};
}

} // namespace

Result<WrittenLayer> write_layer(const std::string& dir, store::BlobStore& blobs,
                                 const LayerWriteOptions& opts) {
  auto blob = blobs.writer();
  if (!blob) return Failure{blob.error()};
  Sink sink;
  sink.blob = &*blob;
  WriteArchive compressor;
  if (opts.compression != Compression::none) {
    compressor.reset(archive_write_new());
    sink.compressor = compressor.get();
    if (auto r = open_compressor(compressor.get(), opts.compression, &sink); !r)
      return Failure{r.error()};
  }
  WriteArchive tar(archive_write_new());
  archive_write_set_format_pax_restricted(tar.get());
  archive_write_set_bytes_per_block(tar.get(), 512);
  if (archive_write_open(tar.get(), &sink, nullptr, from_tar, nullptr) != ARCHIVE_OK)
    return Failure{"layer of " + dir + ": " + archive_message(tar.get())};
  Packer packer(dir, tar.get(), opts);
  if (auto r = packer.walk(""); !r) return Failure{r.error()};
  if (archive_write_close(tar.get()) != ARCHIVE_OK)
    return Failure{"layer of " + dir + ": " +
                   (sink.error.empty() ? archive_message(tar.get()) : sink.error)};
  if (compressor && archive_write_close(compressor.get()) != ARCHIVE_OK)
    return Failure{"layer of " + dir + ": " +
                   (sink.error.empty() ? archive_message(compressor.get()) : sink.error)};
  WrittenLayer out;
  out.diff_id = sink.diff_sha.finish();
  out.size = blob->size();
  out.media_type = oci_layer_media_type(opts.compression);
  auto digest = blob->commit();
  if (!digest) return Failure{digest.error()};
  out.digest = *digest;
  return out;
}

bool is_opaque_dir(const std::string& path) {
  char v[4];
  for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
    ssize_t n = ::lgetxattr(path.c_str(), name, v, sizeof v);
    if (n == 1 && v[0] == 'y') return true;
  }
  return false;
}

} // namespace earth::image
