// Reading OCI layouts and docker-save archives. A tar is read once: blobs go
// straight into the blob store (verified against their names), small JSON
// files are kept in memory, and the images are assembled afterwards.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include <functional>
#include <map>

#include "archive_util.h"
#include "earth/base/fs.h"
#include "earth/image/archive.h"
#include "earth/image/layer.h"
#include "earth/image/manifest.h"
#include "earth/image/reference.h"

namespace earth::image {

namespace {

// JSON files are kept in memory; these bounds keep a hostile archive from
// making that unbounded.
constexpr la_int64_t max_small_file = 16 << 20;
constexpr size_t max_small_total = 64 << 20;

// What a tar or a layout dir holds, once read.
struct Contents {
  std::map<std::string, std::string> small;          // path -> bytes (JSON files)
  std::map<std::string, Digest> stored;              // path -> blob digest (layers, blobs/)
  std::function<Result<void>(const Digest&)> ensure; // makes a blob present
};

Result<Digest> ingest(archive* a, store::BlobStore& blobs, std::optional<Digest> expected,
                      const std::string& where) {
  if (expected && blobs.has(*expected)) {
    archive_read_data_skip(a);
    return *expected;
  }
  auto w = blobs.writer();
  if (!w) return Failure{w.error()};
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) return Failure{where + ": " + archive_message(a)};
    if (n == 0) break;
    if (auto r = w->write(buf, static_cast<size_t>(n)); !r) return Failure{r.error()};
  }
  auto d = w->commit(expected);
  if (!d) return Failure{where + ": " + d.error()};
  return d;
}

std::string clean(std::string p) {
  while (p.starts_with("./")) p = p.substr(2);
  return p;
}

Result<Contents> read_tar(const std::string& path, store::BlobStore& blobs) {
  ReadArchive a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Failure{path + ": " + archive_message(a.get())};
  Contents c;
  size_t small_total = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Failure{path + ": " + archive_message(a.get())};
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string name = clean(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
    std::string where = path + ": " + name;
    if (name.starts_with("blobs/sha256/")) {
      auto expected = Digest::parse(name.substr(13));
      if (!expected) return Failure{where + ": blob name is not a sha256 digest"};
      auto d = ingest(a.get(), blobs, expected, where);
      if (!d) return Failure{d.error()};
      c.stored[name] = *d;
    } else if (name.ends_with(".tar") || name.ends_with("/layer")) {
      auto d = ingest(a.get(), blobs, std::nullopt, where);
      if (!d) return Failure{d.error()};
      c.stored[name] = *d;
    } else if (archive_entry_size(e) >= 0 && archive_entry_size(e) <= max_small_file) {
      small_total += static_cast<size_t>(archive_entry_size(e));
      if (small_total > max_small_total) return Failure{path + ": too many metadata files"};
      std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
      for (size_t done = 0; done < data.size();) { // reads may stop at block boundaries
        la_ssize_t n = archive_read_data(a.get(), data.data() + done, data.size() - done);
        if (n < 0) return Failure{where + ": " + archive_message(a.get())};
        if (n == 0) return Failure{where + ": truncated"};
        done += static_cast<size_t>(n);
      }
      c.small[name] = std::move(data);
    }
  }
  c.ensure = [&blobs](const Digest& d) -> Result<void> {
    if (!blobs.has(d)) return Failure{"archive is missing blob " + d.oci()};
    return {};
  };
  return c;
}

Result<Contents> read_layout_dir(const std::string& dir, store::BlobStore& blobs) {
  Contents c;
  for (const char* name : {"index.json", "oci-layout"}) {
    auto data = fs::read_file(fs::join(dir, name));
    if (!data) return Failure{dir + " is not an OCI image layout (" + data.error() + ")"};
    c.small[name] = std::move(*data);
  }
  c.ensure = [dir, &blobs](const Digest& d) -> Result<void> {
    auto r = blobs.put_file(fs::join(dir, "blobs/sha256/" + d.hex()), d);
    if (!r) return Failure{r.error()};
    return {};
  };
  return c;
}

Result<std::string> load(Contents& c, store::BlobStore& blobs, const Digest& d) {
  if (auto r = c.ensure(d); !r) return Failure{r.error()};
  return blobs.get(d);
}

// Follows `desc` down to one image manifest for the host, making every blob
// it needs present.
Result<Digest> resolve_manifest(Contents& c, store::BlobStore& blobs, const Descriptor& desc) {
  auto text = load(c, blobs, desc.digest);
  if (!text) return Failure{text.error()};
  if (static_cast<int64_t>(text->size()) != desc.size)
    return Failure{desc.digest.oci() + " is declared as " + std::to_string(desc.size) +
                   " bytes but has " + std::to_string(text->size())};
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (is_index_media_type(desc.media_type) ||
      (!doc.is_discarded() && is_index_media_type(sniff_media_type(doc)))) {
    auto idx = parse_index(*text);
    if (!idx) return Failure{desc.digest.oci() + ": " + idx.error()};
    auto pick = select_platform(*idx);
    if (!pick) return Failure{desc.digest.oci() + ": " + pick.error()};
    return resolve_manifest(c, blobs, *pick);
  }
  auto m = parse_manifest(*text);
  if (!m) return Failure{desc.digest.oci() + ": " + m.error()};
  if (auto r = c.ensure(m->config.digest); !r) return Failure{r.error()};
  for (const auto& l : m->layers)
    if (auto r = c.ensure(l.digest); !r) return Failure{r.error()};
  return desc.digest;
}

// The name an index entry gives its image, if any; a name that is not a
// valid reference is an error, never silently dropped.
Result<std::string> name_from_annotations(const std::map<std::string, std::string>& a) {
  for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
    auto it = a.find(key);
    if (it == a.end()) continue;
    // A bare tag ("latest") names no repository.
    if (it->second.find('/') == std::string::npos && it->second.find(':') == std::string::npos)
      continue;
    auto ref = Reference::parse(it->second);
    if (!ref) return Failure{"index.json: annotation " + std::string(key) + ": " + ref.error()};
    return ref->str();
  }
  return std::string();
}

Result<std::vector<ArchivedImage>> import_oci(Contents& c, store::BlobStore& blobs) {
  auto idx = parse_index(c.small["index.json"]);
  if (!idx) return Failure{"index.json: " + idx.error()};
  std::vector<ArchivedImage> out;
  for (const auto& desc : idx->manifests) {
    auto name = name_from_annotations(desc.annotations);
    if (!name) return Failure{name.error()};
    auto m = resolve_manifest(c, blobs, desc);
    if (!m) return Failure{m.error()};
    out.push_back({*name, *m});
  }
  return out;
}

std::string sniff_layer_type(const std::string& blob) {
  FILE* f = std::fopen(blob.c_str(), "rb");
  unsigned char magic[4] = {};
  size_t n = f ? std::fread(magic, 1, 4, f) : 0;
  if (f) std::fclose(f);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return media::oci_layer_gzip;
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return media::oci_layer_zstd;
  return media::oci_layer;
}

Result<Descriptor> stored_blob(Contents& c, store::BlobStore& blobs, const std::string& path,
                               std::string media_type) {
  auto it = c.stored.find(clean(path));
  Descriptor d;
  if (it != c.stored.end()) {
    d.digest = it->second;
  } else if (auto small = c.small.find(clean(path)); small != c.small.end()) {
    auto put = blobs.put(small->second);
    if (!put) return Failure{put.error()};
    d.digest = *put;
  } else {
    return Failure{"docker archive: manifest.json names missing file " + path};
  }
  struct stat st {};
  if (::stat(blobs.path(d.digest).c_str(), &st) != 0)
    return Failure{errno_message(blobs.path(d.digest), errno)};
  d.size = st.st_size;
  d.media_type = media_type.empty() ? sniff_layer_type(blobs.path(d.digest)) : media_type;
  return d;
}

Result<std::vector<ArchivedImage>> import_docker(Contents& c, store::BlobStore& blobs) {
  auto doc = nlohmann::json::parse(c.small["manifest.json"], nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return Failure{"docker archive: bad manifest.json"};
  std::vector<ArchivedImage> out;
  for (const auto& item : doc) {
    if (!item.is_object() || !item.value("Config", nlohmann::json()).is_string())
      return Failure{"docker archive: manifest.json entry without Config"};
    Manifest m;
    m.media_type = media::oci_manifest;
    auto config = stored_blob(c, blobs, item["Config"].get<std::string>(), media::oci_config);
    if (!config) return Failure{config.error()};
    m.config = *config;
    for (const auto& layer : item.value("Layers", nlohmann::json::array())) {
      if (!layer.is_string()) return Failure{"docker archive: bad Layers entry"};
      auto d = stored_blob(c, blobs, layer.get<std::string>(), "");
      if (!d) return Failure{d.error()};
      m.layers.push_back(*d);
    }
    auto digest = blobs.put(to_json(m));
    if (!digest) return Failure{digest.error()};
    auto tags = item.value("RepoTags", nlohmann::json::array());
    if (!tags.is_array() || tags.empty()) out.push_back({"", *digest});
    for (const auto& t : tags) {
      if (!t.is_string()) return Failure{"docker archive: RepoTags entry is not a string"};
      auto ref = Reference::parse(t.get<std::string>());
      if (!ref) return Failure{"docker archive: RepoTags: " + ref.error()};
      out.push_back({ref->str(), *digest});
    }
  }
  return out;
}

} // namespace

Result<std::vector<ArchivedImage>> import_archive(const std::string& path,
                                                  store::BlobStore& blobs) {
  bool dir = fs::is_dir(path);
  if (!dir && !fs::exists(path)) return Failure{path + ": no such file or directory"};
  auto contents = dir ? read_layout_dir(path, blobs) : read_tar(path, blobs);
  if (!contents) return Failure{contents.error()};
  Result<std::vector<ArchivedImage>> images = Failure{""};
  if (contents->small.count("index.json"))
    images = import_oci(*contents, blobs);
  else if (contents->small.count("manifest.json"))
    images = import_docker(*contents, blobs);
  else
    return Failure{path +
                   ": neither an OCI layout (index.json) nor a docker archive (manifest.json)"};
  if (!images) return Failure{path + ": " + images.error()};
  if (images->empty()) return Failure{path + ": the archive holds no image"};
  return images;
}

} // namespace earth::image
