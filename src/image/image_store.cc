// ImageStore over the store module: names in the image index, manifests,
// configs and layers in the blob store, unpacked layers in snapshots.
#include "earth/image/image_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "earth/base/fs.h"
#include "earth/image/archive.h"
#include "earth/image/layer.h"
#include "earth/image/reference.h"
#include "earth/image/registry.h"
#include "earth/store/blob_store.h"
#include "earth/store/cleanup.h"
#include "earth/store/image_index.h"
#include "earth/store/snapshots.h"
#include "image_check.h"

namespace earth::image {

namespace {

class LocalImageStore : public ImageStore {
public:
  LocalImageStore(store::BlobStore blobs, store::SnapshotStore snaps, const std::string& dir)
      : blobs_(std::move(blobs)), snaps_(std::move(snaps)), index_(dir) {}

  Result<ImageRecord> resolve(std::string_view ref, const ResolveOptions& opts) override;
  Result<Digest> manifest_digest(std::string_view ref, const ResolveOptions& opts) override;
  Result<Digest> pull(std::string_view ref) override;
  Result<Digest> push(std::string_view ref, std::string_view dest) override;
  Result<std::vector<std::string>> import(const std::string& path, std::string_view name) override;
  Result<void> export_archive(std::string_view ref, const std::string& path,
                              ArchiveFormat format) override;
  Result<ImageRecord> commit(const ImageRecord& base, const std::vector<std::string>& upper_dirs,
                             const RuntimeConfig& config,
                             const std::vector<std::string>& names) override;
  Result<std::vector<ImageSummary>> list() override;
  Result<void> remove(std::string_view ref) override;
  void watch_index(store::IndexWatch* watch) override { index_.watch(watch); }

private:
  Result<ImageRecord> record(const std::string& name, const Digest& manifest);
  Result<std::string> snapshot(const std::string& name, const Descriptor& layer,
                               const Digest& diff_id);
  Result<std::optional<Digest>> local(const Reference& ref);
  RegistryClient& registry();

  store::BlobStore blobs_;
  store::SnapshotStore snaps_;
  store::ImageIndex index_;
  std::mutex mu_;
  std::unique_ptr<RegistryClient> registry_;
  std::string registry_error_;
};

RegistryClient& LocalImageStore::registry() {
  std::lock_guard lock(mu_);
  if (!registry_) {
    auto config = load_registry_config(default_config_path());
    if (!config) registry_error_ = config.error();
    registry_ = std::make_unique<RegistryClient>(config ? *config : RegistryConfig{});
  }
  return *registry_;
}

// The manifest a reference names locally: by name, or by digest when the
// whole image (manifest, config, layers) is in the store. A manifest alone
// does not count: an interrupted pull or import may have left it behind.
Result<std::optional<Digest>> LocalImageStore::local(const Reference& ref) {
  auto named = index_.get(ref.str());
  if (!named) return Failure{named.error()};
  if (*named) return named;
  if (ref.digest) {
    auto whole = check_image(*ref.digest, blobs_);
    if (!whole) return Failure{ref.familiar() + ": " + whole.error()};
    if (*whole) return std::optional<Digest>(*ref.digest);
  }
  return std::optional<Digest>();
}

Result<Digest> LocalImageStore::manifest_digest(std::string_view text, const ResolveOptions& opts) {
  auto ref = Reference::parse(text);
  if (!ref) return Failure{ref.error()};
  if (!opts.always_pull) {
    auto found = local(*ref);
    if (!found) return Failure{found.error()};
    if (*found) return **found;
  }
  if (!opts.pull_if_missing && !opts.always_pull)
    return Failure{"image " + ref->familiar() + " is not in the local store (earth image pull " +
                   ref->familiar() + ")"};
  return pull(text);
}

Result<ImageRecord> LocalImageStore::resolve(std::string_view text, const ResolveOptions& opts) {
  auto digest = manifest_digest(text, opts);
  if (!digest) return Failure{digest.error()};
  return record(Reference::parse(text)->str(), *digest);
}

Result<ImageRecord> LocalImageStore::record(const std::string& name, const Digest& digest) {
  auto whole = check_image(digest, blobs_);
  if (!whole) return Failure{name + ": " + whole.error()};
  if (!*whole)
    return Failure{name + ": the image " + digest.oci() +
                   " is incomplete in the store (a blob is missing): pull or import it again"};
  auto text = blobs_.get(digest);
  if (!text) return Failure{name + ": " + text.error()};
  auto manifest = parse_manifest(*text);
  if (!manifest) return Failure{name + ": " + manifest.error()};
  auto config_text = blobs_.get(manifest->config.digest);
  if (!config_text) return Failure{name + ": " + config_text.error()};
  auto config = parse_config(*config_text);
  if (!config) return Failure{name + ": " + config.error()};
  if (config->diff_ids.size() != manifest->layers.size())
    return Failure{name + ": the config lists " + std::to_string(config->diff_ids.size()) +
                   " layers, the manifest " + std::to_string(manifest->layers.size())};
  ImageRecord rec{name,
                  digest,
                  manifest->config.digest,
                  config->platform.os,
                  config->platform.architecture,
                  config->config,
                  config->diff_ids,
                  {}};
  rec.layer_dirs.resize(manifest->layers.size());
  std::string first_error;
  std::mutex mu;
  std::atomic<size_t> next{0};
  // Missing snapshots unpack in parallel (decompression is CPU-bound).
  auto worker = [&] {
    for (size_t i; (i = next++) < manifest->layers.size();) {
      auto dir = snapshot(name, manifest->layers[i], config->diff_ids[i]);
      std::lock_guard lock(mu);
      if (dir)
        rec.layer_dirs[i] = *dir;
      else if (first_error.empty())
        first_error = dir.error();
    }
  };
  size_t missing = 0;
  for (const auto& id : config->diff_ids) missing += !snaps_.has(id);
  size_t threads = std::min<size_t>(missing, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (!first_error.empty()) return Failure{first_error};
  return rec;
}

Result<std::string> LocalImageStore::snapshot(const std::string& name, const Descriptor& layer,
                                              const Digest& diff_id) {
  return snaps_.ensure(diff_id, [&](const std::string& tmp) -> Result<void> {
    if (!blobs_.has(layer.digest))
      return Failure{name + ": layer " + layer.digest.oci() + " is not in the store"};
    auto stats = unpack_layer(blobs_.path(layer.digest), tmp, UnpackOptions(), layer.digest.oci());
    if (!stats) return Failure{name + ": " + stats.error()};
    if (stats->diff_id != diff_id)
      return Failure{name + ": layer " + layer.digest.oci() + " unpacks to " +
                     stats->diff_id.oci() + ", the config says " + diff_id.oci()};
    return {};
  });
}

Result<Digest> LocalImageStore::pull(std::string_view text) {
  auto ref = Reference::parse(text);
  if (!ref) return Failure{ref.error()};
  auto& client = registry();
  if (!registry_error_.empty()) return Failure{registry_error_};
  auto digest = client.pull(*ref, blobs_);
  if (!digest) return Failure{digest.error()};
  auto whole = check_image(*digest, blobs_);
  if (!whole) return Failure{ref->familiar() + ": " + whole.error()};
  if (!*whole) return Failure{ref->familiar() + ": the pull left a blob missing"};
  if (auto r = index_.set(ref->str(), *digest); !r) return Failure{r.error()};
  return digest;
}

Result<Digest> LocalImageStore::push(std::string_view text, std::string_view dest_text) {
  auto ref = Reference::parse(text);
  if (!ref) return Failure{ref.error()};
  auto dest = Reference::parse(dest_text.empty() ? text : dest_text);
  if (!dest) return Failure{dest.error()};
  auto found = local(*ref);
  if (!found) return Failure{found.error()};
  if (!*found) return Failure{"image " + ref->familiar() + " is not in the local store"};
  auto& client = registry();
  if (!registry_error_.empty()) return Failure{registry_error_};
  if (auto r = client.push(*dest, **found, blobs_); !r) return Failure{r.error()};
  return **found;
}

Result<std::vector<std::string>> LocalImageStore::import(const std::string& path,
                                                         std::string_view name) {
  std::optional<Reference> rename;
  if (!name.empty()) { // checked before the archive is read
    auto ref = Reference::parse(name);
    if (!ref) return Failure{ref.error()};
    rename = *ref;
  }
  auto images = import_archive(path, blobs_);
  if (!images) return Failure{images.error()};
  for (const auto& img : *images) {
    auto whole = check_image(img.manifest, blobs_);
    if (!whole) return Failure{path + ": " + whole.error()};
    if (!*whole) return Failure{path + ": the image " + img.manifest.oci() + " is incomplete"};
  }
  std::vector<std::string> names;
  if (rename) {
    if (auto r = index_.set(rename->str(), images->front().manifest); !r) return Failure{r.error()};
    return std::vector<std::string>{rename->str()};
  }
  for (const auto& img : *images) {
    if (img.name.empty()) continue;
    if (auto r = index_.set(img.name, img.manifest); !r) return Failure{r.error()};
    names.push_back(img.name);
  }
  if (names.empty())
    return Failure{path +
                   ": the archive does not name its image; give a name: earth image import " +
                   path + " NAME"};
  return names;
}

Result<void> LocalImageStore::export_archive(std::string_view text, const std::string& path,
                                             ArchiveFormat format) {
  auto ref = Reference::parse(text);
  if (!ref) return Failure{ref.error()};
  auto found = local(*ref);
  if (!found) return Failure{found.error()};
  if (!*found) return Failure{"image " + ref->familiar() + " is not in the local store"};
  return image::export_archive({ref->str(), **found}, blobs_, path,
                               format == ArchiveFormat::oci ? ArchiveKind::oci
                                                            : ArchiveKind::docker);
}

// Docker layer media types cannot sit in an OCI manifest: map them.
std::string oci_layer_type(const std::string& mt) {
  if (mt == media::docker_layer) return media::oci_layer_gzip;
  if (mt.starts_with("application/vnd.docker.")) return oci_layer_media_type(compression_of(mt));
  return mt;
}

Result<ImageRecord> LocalImageStore::commit(const ImageRecord& base,
                                            const std::vector<std::string>& upper_dirs,
                                            const RuntimeConfig& runtime,
                                            const std::vector<std::string>& names) {
  if (names.empty()) return Failure{"commit: no image name given"};
  std::vector<Reference> refs;
  for (const auto& name : names) {
    auto ref = Reference::parse(name);
    if (!ref) return Failure{ref.error()};
    refs.push_back(std::move(*ref));
  }
  Manifest m{media::oci_manifest, {}, {}, {}};
  ImageConfig c{host_platform(), {}, {}, nlohmann::json::object()};
  if (!base.manifest_digest.is_zero()) {
    auto text = blobs_.get(base.manifest_digest);
    if (!text) return Failure{text.error()};
    auto bm = parse_manifest(*text);
    if (!bm) return Failure{base.name + ": " + bm.error()};
    auto ctext = blobs_.get(bm->config.digest);
    if (!ctext) return Failure{ctext.error()};
    auto bc = parse_config(*ctext);
    if (!bc) return Failure{base.name + ": " + bc.error()};
    c = *bc;
    m.layers = bm->layers;
    for (auto& l : m.layers) l.media_type = oci_layer_type(l.media_type);
  }
  auto& history = c.raw["history"];
  if (!history.is_array()) history = nlohmann::json::array();
  for (const auto& upper_dir : upper_dirs) {
    LayerWriteOptions opts;
    opts.compression = Compression::zstd; // performance.md: zstd for the local cache
    auto layer = write_layer(upper_dir, blobs_, opts);
    if (!layer) return Failure{layer.error()};
    m.layers.push_back(
        {layer->media_type, layer->digest, static_cast<int64_t>(layer->size), {}, {}});
    c.diff_ids.push_back(layer->diff_id);
    history.push_back({{"created_by", "earth"}});
  }
  if (upper_dirs.empty()) history.push_back({{"created_by", "earth"}, {"empty_layer", true}});
  c.config = runtime;
  std::string config_json = to_json(c);
  auto config_digest = blobs_.put(config_json);
  if (!config_digest) return Failure{config_digest.error()};
  m.config = {media::oci_config, *config_digest, static_cast<int64_t>(config_json.size()), {}, {}};
  auto digest = blobs_.put(to_json(m));
  if (!digest) return Failure{digest.error()};
  for (const auto& ref : refs)
    if (auto r = index_.set(ref.str(), *digest); !r) return Failure{r.error()};
  return record(refs.front().str(), *digest);
}

Result<std::vector<ImageSummary>> LocalImageStore::list() {
  auto names = index_.load();
  if (!names) return Failure{names.error()};
  std::vector<ImageSummary> out;
  for (const auto& [name, digest] : *names) {
    ImageSummary s{name, digest, 0};
    if (auto text = blobs_.get(digest); text)
      if (auto m = parse_manifest(*text))
        for (const auto& l : m->layers) s.size += static_cast<uint64_t>(l.size);
    out.push_back(s);
  }
  return out;
}

Result<void> LocalImageStore::remove(std::string_view text) {
  auto ref = Reference::parse(text);
  if (!ref) return Failure{ref.error()};
  auto removed = index_.remove(ref->str());
  if (!removed) return Failure{removed.error()};
  if (!*removed) return Failure{"no image named " + ref->familiar() + " in the local store"};
  return {};
}

} // namespace

std::string ImageStore::default_cache_dir() {
  return store::default_cache_dir();
}

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& cache_dir) {
  auto blobs = store::BlobStore::open(cache_dir);
  if (!blobs) return Failure{blobs.error()};
  (void)store::remove_stale_temps(cache_dir); // best effort: leftovers of killed processes
  auto snaps = store::SnapshotStore::open(cache_dir);
  if (!snaps) return Failure{snaps.error()};
  return std::unique_ptr<ImageStore>(
      std::make_unique<LocalImageStore>(std::move(*blobs), std::move(*snaps), cache_dir));
}

} // namespace earth::image
