// Layer throughput: packs a synthetic tree with write_layer (gzip, zstd,
// none), unpacks each blob with unpack_layer and with GNU tar (the peer, run
// on the same blob in the same process), and imports an OCI archive of the
// image. Reports MB/s of uncompressed tar and earth/tar time ratios.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "earth/image/archive.h"
#include "earth/image/layer.h"
#include "earth/image/manifest.h"
#include "earth/store/blob_store.h"

namespace fs = earth::fs;
using namespace earth::image;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Files of 4 KiB..256 KiB; half random bytes, half repeats, so compressors work a little.
uint64_t make_tree(const std::string& root, uint64_t total) {
  uint64_t x = 88172645463325252ull, written = 0;
  auto next = [&] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  for (int i = 0; written < total; ++i) {
    std::string dir = fs::join(root, "d" + std::to_string(i % 37));
    (void)fs::make_dirs(dir);
    size_t size = 4096u << (next() % 7);
    std::string data(size, '\0');
    for (size_t j = 0; j < size; j += 8) {
      uint64_t v = (j / 4096) % 2 ? 0x6161616161616161ull : next();
      std::memcpy(&data[j], &v, std::min<size_t>(8, size - j));
    }
    (void)fs::write_file_atomic(fs::join(dir, "f" + std::to_string(i)), data);
    written += size;
  }
  return written;
}

double mbps(uint64_t bytes, double secs) {
  return static_cast<double>(bytes) / 1e6 / secs;
}

} // namespace

int main(int argc, char** argv) {
  uint64_t mb = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64;
  fs::TempDir tmp(argc > 2 ? argv[2] : "/tmp", "earth-image-bench-");
  std::string src = fs::join(tmp.path(), "src");
  make_tree(src, mb << 20);
  auto blobs = earth::store::BlobStore::open(fs::join(tmp.path(), "cache")).value();
  std::printf("%-6s %10s %10s %12s %12s %8s\n", "comp", "blob MB", "pack MB/s", "unpack MB/s",
              "tar -x MB/s", "ratio");
  for (auto [name, c] : {std::pair{"none", Compression::none}, std::pair{"zstd", Compression::zstd},
                         std::pair{"gzip", Compression::gzip}}) {
    LayerWriteOptions opts;
    opts.compression = c;
    auto t0 = std::chrono::steady_clock::now();
    auto layer = write_layer(src, blobs, opts).take();
    double pack = seconds_since(t0);
    std::string out = fs::join(tmp.path(), std::string("unpack-") + name);
    (void)fs::make_dirs(out);
    UnpackOptions uo;
    t0 = std::chrono::steady_clock::now();
    auto stats = unpack_layer(blobs.path(layer.digest), out, uo).take();
    double unpack = seconds_since(t0);
    std::string peer = out + "-tar";
    (void)fs::make_dirs(peer);
    t0 = std::chrono::steady_clock::now();
    auto r = earth::run_process({"tar", "-xf", blobs.path(layer.digest), "-C", peer}).take();
    double tar = seconds_since(t0);
    if (r.exit_status != 0) std::fprintf(stderr, "tar: %s\n", r.err.c_str());
    std::printf("%-6s %10.1f %10.1f %12.1f %12.1f %8.2f\n", name, layer.size / 1e6,
                mbps(stats.tar_bytes, pack), mbps(stats.tar_bytes, unpack),
                mbps(stats.tar_bytes, tar), unpack / tar);
    (void)fs::remove_all(out);
    (void)fs::remove_all(peer);
  }
  // Import: an OCI archive holding the zstd layer, into a fresh store.
  LayerWriteOptions zopts;
  zopts.compression = Compression::zstd;
  auto layer = write_layer(src, blobs, zopts).take();
  ImageConfig config{host_platform(), {}, {layer.diff_id}, nlohmann::json::object()};
  std::string config_json = to_json(config);
  auto config_digest = blobs.put(config_json).take();
  Manifest m{media::oci_manifest,
             {media::oci_config, config_digest, static_cast<int64_t>(config_json.size()), {}, {}},
             {{layer.media_type, layer.digest, static_cast<int64_t>(layer.size), {}, {}}},
             {}};
  auto manifest = blobs.put(to_json(m)).take();
  std::string archive = fs::join(tmp.path(), "image.tar");
  export_archive({"bench/image:1", manifest}, blobs, archive, ArchiveKind::oci).take();
  auto fresh = earth::store::BlobStore::open(fs::join(tmp.path(), "cache2")).value();
  auto t0 = std::chrono::steady_clock::now();
  import_archive(archive, fresh).take();
  double import = seconds_since(t0);
  std::printf("import OCI archive: %.1f MB in %.3f s = %.1f MB/s (blob bytes, digests verified)\n",
              layer.size / 1e6, import, mbps(layer.size, import));
  return 0;
}
