// Writing image archives. Entries are in a fixed order with fixed times and
// owners, so exporting the same image twice gives the same bytes.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "archive_util.h"
#include "earth/base/fs.h"
#include "earth/image/archive.h"
#include "earth/image/layer.h"
#include "earth/image/manifest.h"
#include "earth/image/reference.h"

namespace earth::image {

namespace {

using nlohmann::json;

Failure damaged_blob(const Digest& d) {
  return Failure{"blob " + d.oci() +
                 " in the store is damaged (its content does not match its digest); remove the "
                 "image and pull or import it again"};
}

Entry make_entry(const std::string& name, mode_t type, int64_t size) {
  Entry e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e.get(), size);
  archive_entry_set_mtime(e.get(), 0, 0);
  return e;
}

class TarOut {
public:
  Result<void> open(const std::string& path) {
    a_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(a_.get());
    if (archive_write_open_filename(a_.get(), path.c_str()) != ARCHIVE_OK)
      return Failure{path + ": " + archive_message(a_.get())};
    return {};
  }
  Result<void> dir(const std::string& name) {
    auto e = make_entry(name, AE_IFDIR, 0);
    if (archive_write_header(a_.get(), e.get()) < ARCHIVE_WARN) return error(name);
    return {};
  }
  Result<void> bytes(const std::string& name, std::string_view data) {
    auto e = make_entry(name, AE_IFREG, static_cast<int64_t>(data.size()));
    if (archive_write_header(a_.get(), e.get()) < ARCHIVE_WARN) return error(name);
    if (archive_write_data(a_.get(), data.data(), data.size()) < 0) return error(name);
    return {};
  }
  // Copies the file at `src`; when `expected` is set, its bytes are hashed on
  // the way and must have that digest (a damaged blob is never exported).
  Result<void> file(const std::string& name, const std::string& src,
                    std::optional<Digest> expected = std::nullopt) {
    struct stat st {};
    if (::stat(src.c_str(), &st) != 0) return Failure{errno_message(src, errno)};
    FILE* in = std::fopen(src.c_str(), "rb");
    if (!in) return Failure{errno_message(src, errno)};
    auto e = make_entry(name, AE_IFREG, st.st_size);
    Result<void> result;
    if (archive_write_header(a_.get(), e.get()) < ARCHIVE_WARN) result = error(name);
    Sha256 sha;
    char buf[1 << 16];
    size_t n;
    int64_t copied = 0;
    while (result && (n = std::fread(buf, 1, sizeof buf, in)) > 0) {
      sha.update(buf, n);
      copied += static_cast<int64_t>(n);
      if (archive_write_data(a_.get(), buf, n) < 0) result = error(name);
    }
    if (result && std::ferror(in)) result = Failure{errno_message(src, errno)};
    std::fclose(in);
    if (result && expected && (copied != st.st_size || sha.finish() != *expected))
      result = damaged_blob(*expected);
    return result;
  }
  Result<void> close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return error("end of archive");
    return {};
  }

private:
  Failure error(const std::string& name) {
    return Failure{name + ": " + archive_message(a_.get())};
  }
  WriteArchive a_;
};

struct Parts {
  Manifest manifest;
  std::string manifest_json;
  std::string config_json;
};

Result<Parts> load_parts(const ArchivedImage& image, store::BlobStore& blobs) {
  Parts p;
  auto text = blobs.get(image.manifest);
  if (!text) return Failure{text.error()};
  p.manifest_json = *text;
  if (Digest::of(*text) != image.manifest) return damaged_blob(image.manifest);
  auto m = parse_manifest(*text);
  if (!m) return Failure{image.manifest.oci() + ": " + m.error()};
  p.manifest = *m;
  auto config = blobs.get(m->config.digest);
  if (!config) return Failure{config.error()};
  if (Digest::of(*config) != m->config.digest) return damaged_blob(m->config.digest);
  p.config_json = *config;
  for (const auto& l : m->layers)
    if (!blobs.has(l.digest)) return Failure{"layer " + l.digest.oci() + " is not in the store"};
  return p;
}

Result<void> write_oci(TarOut& tar, const ArchivedImage& image, const Parts& p,
                       store::BlobStore& blobs) {
  Descriptor desc{p.manifest.media_type,
                  image.manifest,
                  static_cast<int64_t>(p.manifest_json.size()),
                  std::nullopt,
                  {}};
  if (auto ref = Reference::parse(image.name); ref && !image.name.empty()) {
    desc.annotations["io.containerd.image.name"] = ref->str();
    if (!ref->tag.empty()) desc.annotations["org.opencontainers.image.ref.name"] = ref->tag;
  }
  Index index{media::oci_index, {desc}, {}};
  for (auto r : {tar.bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"),
                 tar.bytes("index.json", to_json(index)), tar.dir("blobs"), tar.dir("blobs/sha256"),
                 tar.bytes("blobs/sha256/" + image.manifest.hex(), p.manifest_json),
                 tar.bytes("blobs/sha256/" + p.manifest.config.digest.hex(), p.config_json)})
    if (!r) return r;
  for (const auto& l : p.manifest.layers)
    if (auto r = tar.file("blobs/sha256/" + l.digest.hex(), blobs.path(l.digest), l.digest); !r)
      return r;
  return {};
}

// Re-digests a stored blob (docker archives re-pack layers, so the copy
// itself cannot be checked on the way).
Result<void> verify_blob(store::BlobStore& blobs, const Digest& d) {
  FILE* in = std::fopen(blobs.path(d).c_str(), "rb");
  if (!in) return Failure{errno_message(blobs.path(d), errno)};
  Sha256 sha;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) sha.update(buf, n);
  bool failed = std::ferror(in);
  std::fclose(in);
  if (failed) return Failure{"read error: " + blobs.path(d)};
  if (sha.finish() != d) return damaged_blob(d);
  return {};
}

Result<void> write_docker(TarOut& tar, const ArchivedImage& image, const Parts& p,
                          store::BlobStore& blobs) {
  auto config = parse_config(p.config_json);
  if (!config) return Failure{config.error()};
  if (config->diff_ids.size() != p.manifest.layers.size())
    return Failure{"image config lists " + std::to_string(config->diff_ids.size()) +
                   " diff_ids for " + std::to_string(p.manifest.layers.size()) + " layers"};
  std::string config_name = p.manifest.config.digest.hex() + ".json";
  if (auto r = tar.bytes(config_name, p.config_json); !r) return r;
  json layers = json::array();
  for (size_t i = 0; i < p.manifest.layers.size(); ++i) {
    // docker-archive readers expect plain tars whose digest is the diff_id.
    std::string id = config->diff_ids[i].hex();
    std::string tmp = fs::join(blobs.tmp_dir(), "export-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(std::random_device{}()));
    const Digest& blob = p.manifest.layers[i].digest;
    if (auto v = verify_blob(blobs, blob); !v) return v;
    FILE* out = std::fopen(tmp.c_str(), "wb");
    if (!out) return Failure{errno_message(tmp, errno)};
    auto diff =
        read_uncompressed(blobs.path(blob), [out, &tmp](const void* d, size_t n) -> Result<void> {
          if (std::fwrite(d, 1, n, out) != n) return Failure{errno_message(tmp, errno)};
          return {};
        });
    std::fclose(out);
    Result<void> r = diff ? (*diff == config->diff_ids[i]
                                 ? tar.file(id + "/layer.tar", tmp)
                                 : Result<void>(Failure{"layer " + blob.oci() +
                                                        " does not match its diff_id " + id}))
                          : Result<void>(Failure{diff.error()});
    ::unlink(tmp.c_str());
    if (!r) return r;
    layers.push_back(id + "/layer.tar");
  }
  json tags = json::array();
  if (auto ref = Reference::parse(image.name); ref && !ref->tag.empty())
    tags.push_back(ref->familiar());
  json manifest = json::array({{{"Config", config_name}, {"RepoTags", tags}, {"Layers", layers}}});
  return tar.bytes("manifest.json", manifest.dump());
}

} // namespace

Result<void> export_archive(const ArchivedImage& image, store::BlobStore& blobs,
                            const std::string& out, ArchiveKind kind) {
  auto parts = load_parts(image, blobs);
  if (!parts) return Failure{parts.error()};
  std::string tmp = out + ".tmp." + std::to_string(::getpid());
  TarOut tar;
  Result<void> r = tar.open(tmp);
  if (r)
    r = kind == ArchiveKind::oci ? write_oci(tar, image, *parts, blobs)
                                 : write_docker(tar, image, *parts, blobs);
  if (r) r = tar.close();
  if (r && ::rename(tmp.c_str(), out.c_str()) != 0) r = Failure{errno_message(out, errno)};
  if (!r) {
    ::unlink(tmp.c_str());
    return Failure{"export to " + out + ": " + r.error()};
  }
  return {};
}

} // namespace earth::image
