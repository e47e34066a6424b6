// Builds test tars (including hostile ones) with libarchive.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <string>
#include <vector>

struct TarEntry {
  enum Kind { file, dir, symlink, hardlink, chardev, blockdev } kind = file;
  std::string path;
  std::string data; // file content, link target, or a device's "major:minor" (default 1:3)
  int mode = 0644;
  int uid = 0, gid = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

enum class TarCompression { none, gzip, zstd };

inline void write_tar(const std::string& out, const std::vector<TarEntry>& entries,
                      TarCompression c = TarCompression::none) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == TarCompression::gzip) archive_write_add_filter_gzip(a);
  if (c == TarCompression::zstd) archive_write_add_filter_zstd(a);
  archive_write_open_filename(a, out.c_str());
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, 1000, 0);
    for (const auto& [k, v] : t.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    switch (t.kind) {
    case TarEntry::file:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, t.mode);
      archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
      break;
    case TarEntry::dir:
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, t.mode == 0644 ? 0755 : t.mode);
      break;
    case TarEntry::symlink:
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_symlink(e, t.data.c_str());
      break;
    case TarEntry::hardlink:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, t.mode);
      archive_entry_set_hardlink(e, t.data.c_str());
      archive_entry_set_size(e, 0);
      break;
    case TarEntry::chardev:
    case TarEntry::blockdev: {
      archive_entry_set_filetype(e, t.kind == TarEntry::chardev ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_perm(e, 0666);
      unsigned major = 1, minor = 3;
      if (!t.data.empty()) std::sscanf(t.data.c_str(), "%u:%u", &major, &minor);
      archive_entry_set_rdevmajor(e, major);
      archive_entry_set_rdevminor(e, minor);
      break;
    }
    }
    archive_write_header(a, e);
    if (t.kind == TarEntry::file && !t.data.empty())
      archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}
