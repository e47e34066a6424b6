// Unpacking layer tars safely. The compressed blob is read by one libarchive
// reader (any filter, "raw" format) whose output is hashed for the diff_id and
// fed to a second reader that parses the tar: one pass gives both.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "archive_util.h"
#include "earth/base/fs.h"
#include "earth/image/layer.h"
#include "earth/image/manifest.h"

namespace earth::image {

namespace {

struct TarSource {
  Decompressed* in;
  char buf[1 << 16];
};

la_ssize_t tar_read(archive* a, void* client, const void** out) {
  auto* src = static_cast<TarSource*>(client);
  ssize_t n = src->in->read(src->buf, sizeof src->buf);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", src->in->error().c_str());
    return -1;
  }
  *out = src->buf;
  return n;
}

constexpr std::string_view whiteout_prefix = ".wh.";

// Unprivileged, only user.* xattrs can be set: the others are dropped up
// front, so that every warning the disk writer gives is a real failure.
void keep_user_xattrs(archive_entry* e) {
  std::vector<std::tuple<std::string, std::string>> keep;
  archive_entry_xattr_reset(e);
  const char* name;
  const void* value;
  size_t size;
  bool dropped = false;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (std::string_view(name).starts_with("user."))
      keep.emplace_back(name, std::string(static_cast<const char*>(value), size));
    else
      dropped = true;
  }
  if (!dropped) return;
  archive_entry_xattr_clear(e);
  for (const auto& [k, v] : keep) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
}
constexpr std::string_view opaque_marker = ".wh..wh..opq";

// One layer being unpacked into `root`.
class Unpacker {
public:
  Unpacker(std::string root, const UnpackOptions& opts, std::string layer)
      : root_(std::move(root)), opts_(opts), layer_(std::move(layer)) {}

  Result<void> run(archive* tar, UnpackStats& stats);

private:
  Failure refuse(std::string_view entry, const std::string& why) const {
    return Failure{"layer " + layer_ + ": refusing entry '" + std::string(entry) + "': " + why};
  }
  Failure fail(std::string_view entry, const std::string& why) const {
    return Failure{"layer " + layer_ + ": entry '" + std::string(entry) + "': " + why};
  }
  // A disk writer failure, with its errno ("Write failed: No space left on device").
  Failure disk_fail(std::string_view entry, archive* disk) const {
    std::string why = archive_message(disk);
    if (int err = archive_errno(disk); err > 0) why += std::string(": ") + std::strerror(err);
    return fail(entry, why);
  }
  std::string abs(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  Result<std::string> clean(std::string_view raw, std::string_view entry) const;
  Result<void> check_parents(const std::string& rel, std::string_view entry);
  Result<void> whiteout(const std::string& rel, std::string_view entry);
  Result<void> opaque(const std::string& dir, std::string_view entry);
  Result<void> entry(archive* tar, archive* disk, archive_entry* e, UnpackStats& stats);
  Result<void> copy_data(archive* tar, archive* disk, std::string_view entry);

  std::string root_;
  const UnpackOptions& opts_;
  std::string layer_;
  std::unordered_set<std::string> safe_dirs_; // verified real directories
  std::unordered_set<std::string> written_;   // paths this layer made
};

Result<std::string> Unpacker::clean(std::string_view raw, std::string_view entry) const {
  if (raw.starts_with("/")) return refuse(entry, "absolute path");
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view part = raw.substr(start, end - start);
    if (part == "..") return refuse(entry, "'..' component");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

// Every proper prefix of `rel` must be a real directory (or not exist yet),
// never a symlink: otherwise the write would land wherever the link points.
Result<void> Unpacker::check_parents(const std::string& rel, std::string_view entry) {
  for (size_t pos = rel.find('/'); pos != std::string::npos; pos = rel.find('/', pos + 1)) {
    std::string prefix = rel.substr(0, pos);
    if (safe_dirs_.count(prefix)) continue;
    struct stat st {};
    if (::lstat(abs(prefix).c_str(), &st) != 0) {
      if (errno == ENOENT) return {}; // created as a directory by libarchive
      return fail(entry, errno_message(prefix, errno));
    }
    if (S_ISLNK(st.st_mode))
      return refuse(entry, "it would be written through symlink '" + prefix + "'");
    if (!S_ISDIR(st.st_mode)) return refuse(entry, "'" + prefix + "' is not a directory");
    safe_dirs_.insert(prefix);
  }
  return {};
}

Result<void> Unpacker::whiteout(const std::string& rel, std::string_view entry) {
  std::string path = abs(rel);
  if (written_.count(rel)) return {}; // whiteouts hide lower layers only
  if (opts_.whiteouts == WhiteoutMode::apply) return fs::remove_all(path);
  if (auto r = fs::make_dirs(fs::dirname(path)); !r) return fail(entry, r.error());
  if (fs::exists(path))
    if (auto r = fs::remove_all(path); !r) return fail(entry, r.error());
  if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    return fail(entry, errno_message("make overlay whiteout " + rel, errno));
  safe_dirs_.erase(rel);
  return {};
}

Result<void> Unpacker::opaque(const std::string& dir, std::string_view entry) {
  std::string path = abs(dir);
  if (opts_.whiteouts == WhiteoutMode::overlay) {
    if (auto r = fs::make_dirs(path); !r) return fail(entry, r.error());
    if (::lsetxattr(path.c_str(), opts_.opaque_xattr.c_str(), "y", 1, 0) != 0)
      return fail(
          entry,
          errno_message("set " + opts_.opaque_xattr + " on " + (dir.empty() ? "/" : dir), errno));
    return {};
  }
  DIR* d = ::opendir(path.c_str());
  if (!d) return {}; // nothing below to hide
  std::vector<std::string> doomed;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    std::string child = dir.empty() ? name : dir + "/" + name;
    if (!written_.count(child)) doomed.push_back(child);
  }
  ::closedir(d);
  for (const auto& child : doomed)
    if (auto r = fs::remove_all(abs(child)); !r) return fail(entry, r.error());
  return {};
}

Result<void> Unpacker::copy_data(archive* tar, archive* disk, std::string_view entry) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(tar, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN)
      return Failure{"layer " + layer_ + ": the layer is corrupt (at entry '" + std::string(entry) +
                     "'): " + archive_message(tar)};
    // A failed write(2) (a full disk) is only ARCHIVE_WARN: any warning fails.
    if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_OK)
      return disk_fail(entry, disk);
  }
}

// The device nodes a layer may create (docs/sandbox.md): the harmless
// character devices /dev also has. Disks, memory, kmsg and the rest are left
// out, whatever the mount's nodev says.
static bool safe_device(archive_entry* e) {
  if (archive_entry_filetype(e) != AE_IFCHR) return false;
  unsigned major = archive_entry_rdevmajor(e), minor = archive_entry_rdevminor(e);
  if (major == 1) return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9;
  return major == 5 && (minor == 0 || minor == 2); // tty, ptmx
}

Result<void> Unpacker::entry(archive* tar, archive* disk, archive_entry* e, UnpackStats& stats) {
  const char* raw_c = archive_entry_pathname(e);
  std::string raw = raw_c ? raw_c : "";
  auto rel = clean(raw, raw);
  if (!rel) return Failure{rel.error()};
  ++stats.entries;
  std::string base = fs::basename(*rel);
  if (!rel->empty()) {
    if (auto r = check_parents(*rel, raw); !r) return r;
  }
  if (base.starts_with(whiteout_prefix)) {
    std::string dir = rel->find('/') == std::string::npos ? "" : fs::dirname(*rel);
    if (base == opaque_marker) return opaque(dir, raw);
    if (base.starts_with(".wh..wh.")) return {}; // other AUFS metadata: not content
    std::string hidden = base.substr(whiteout_prefix.size());
    if (hidden.empty() || hidden == "." || hidden == "..")
      return refuse(raw, "a whiteout must name a file ('" + hidden + "' does not)");
    std::string target = dir.empty() ? hidden : dir + "/" + hidden;
    return whiteout(target, raw);
  }
  mode_t type = archive_entry_filetype(e);
  if ((type == AE_IFCHR || type == AE_IFBLK) && (!opts_.privileged || !safe_device(e))) {
    ++stats.skipped_devices; // a layer never brings a way to the host's devices
    return {};
  }
  if (const char* link = archive_entry_hardlink(e)) {
    auto target = clean(link, raw);
    if (!target) return Failure{target.error()};
    if (auto r = check_parents(*target, raw); !r) return r;
    struct stat st {};
    if (target->empty() || ::lstat(abs(*target).c_str(), &st) != 0)
      return refuse(raw, "hardlink target '" + *target + "' is not in the layer");
    if (S_ISDIR(st.st_mode)) return refuse(raw, "hardlink to a directory");
    archive_entry_set_hardlink(e, abs(*target).c_str());
  }
  struct stat old {};
  bool exists = ::lstat(abs(*rel).c_str(), &old) == 0;
  // A directory replaces a file or whiteout device, and the other way round.
  if (exists && S_ISDIR(old.st_mode) != (type == AE_IFDIR) && !rel->empty())
    if (auto r = fs::remove_all(abs(*rel)); !r) return fail(raw, r.error());
  if (rel->empty() && type != AE_IFDIR) return refuse(raw, "the root must be a directory");
  if (!opts_.privileged) keep_user_xattrs(e);
  archive_entry_set_pathname(e, abs(*rel).c_str());
  int r = archive_write_header(disk, e);
  if (r < ARCHIVE_WARN && (type == AE_IFCHR || type == AE_IFBLK)) {
    ++stats.skipped_devices; // "root" without CAP_MKNOD, e.g. in a user namespace
    return {};
  }
  if (r < ARCHIVE_OK) return disk_fail(raw, disk);
  if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e))
    if (auto c = copy_data(tar, disk, raw); !c) return c;
  if (archive_write_finish_entry(disk) < ARCHIVE_OK) return disk_fail(raw, disk);
  if (type != AE_IFDIR) safe_dirs_.erase(*rel);
  written_.insert(*rel);
  return {};
}

Result<void> Unpacker::run(archive* tar, UnpackStats& stats) {
  WriteArchive disk(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
              ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT;
  if (opts_.privileged) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk.get(), flags);
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(tar, &e);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_RETRY is a damaged header (what a corrupt compressed stream
    // gives): its entry is empty, and must not be taken for the root.
    if (r == ARCHIVE_RETRY || r < ARCHIVE_WARN)
      return Failure{"layer " + layer_ + ": the layer is corrupt: " + archive_message(tar)};
    if (auto res = entry(tar, disk.get(), e, stats); !res) return res;
  }
  // Directory modes and times are fixed up at close.
  if (archive_write_close(disk.get()) < ARCHIVE_OK)
    return Failure{"layer " + layer_ + ": " + archive_message(disk.get())};
  return {};
}

} // namespace

bool running_privileged() {
  // Root of the initial user namespace only: "root" in a user namespace may
  // not make devices or set trusted.* xattrs, and its overlayfs mounts read
  // user.overlay.* (userxattr).
  static const bool privileged = [] {
    if (::geteuid() != 0) return false;
    auto map = fs::read_file("/proc/self/uid_map");
    if (!map) return true;
    unsigned long inside = 1, outside = 1, count = 0;
    return std::sscanf(map->c_str(), "%lu %lu %lu", &inside, &outside, &count) == 3 &&
           inside == 0 && outside == 0 && count == 4294967295ul;
  }();
  return privileged;
}

UnpackOptions::UnpackOptions()
    : privileged(running_privileged()),
      opaque_xattr(running_privileged() ? "trusted.overlay.opaque" : "user.overlay.opaque") {}

Compression compression_of(std::string_view mt) {
  if (mt.ends_with("+zstd") || mt.ends_with(".zstd")) return Compression::zstd;
  if (mt.ends_with("gzip")) return Compression::gzip;
  return Compression::none;
}

std::string oci_layer_media_type(Compression c) {
  switch (c) {
  case Compression::gzip:
    return media::oci_layer_gzip;
  case Compression::zstd:
    return media::oci_layer_zstd;
  case Compression::none:
    break;
  }
  return media::oci_layer;
}

Result<Digest> read_uncompressed(const std::string& blob, const ByteSink& sink) {
  Decompressed in;
  if (auto r = in.open(blob); !r) return Failure{r.error()};
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = in.read(buf.data(), buf.size());
    if (n < 0) return Failure{in.error()};
    if (n == 0) break;
    if (sink)
      if (auto r = sink(buf.data(), static_cast<size_t>(n)); !r) return Failure{r.error()};
  }
  return in.finish();
}

Result<UnpackStats> unpack_layer(const std::string& blob, const std::string& dest,
                                 const UnpackOptions& opts, std::string_view name) {
  std::string layer = name.empty() ? blob : std::string(name);
  char real[PATH_MAX];
  // libarchive's symlink check walks the whole path: give it one without links.
  if (!::realpath(dest.c_str(), real)) return Failure{errno_message(dest, errno)};
  if (!fs::exists(blob)) return Failure{"layer " + layer + ": " + blob + " is missing"};
  Decompressed in;
  if (auto r = in.open(blob); !r)
    return Failure{"layer " + layer + ": the layer is corrupt: " + r.error()};
  auto src = std::make_unique<TarSource>();
  src->in = &in;
  ReadArchive tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_format_empty(tar.get());
  if (archive_read_open(tar.get(), src.get(), nullptr, tar_read, nullptr) != ARCHIVE_OK)
    return Failure{"layer " + layer + ": the layer is corrupt: " + archive_message(tar.get()) +
                   " (neither a tar nor a gzip or zstd compressed tar)"};
  UnpackStats stats;
  Unpacker unpacker(real, opts, layer);
  if (auto r = unpacker.run(tar.get(), stats); !r) return Failure{r.error()};
  auto diff_id = in.finish();
  if (!diff_id) return Failure{"layer " + layer + ": the layer is corrupt: " + diff_id.error()};
  stats.diff_id = *diff_id;
  stats.tar_bytes = in.total();
  return stats;
}

} // namespace earth::image
