// The local image store: what `FROM`, `earth debug run IMAGE` and
// `earth image ...` use. An image is a name in the store's index pointing at a
// manifest blob; its layers are unpacked once into snapshot directories that a
// sandbox stacks as overlayfs lower dirs (bottom first in `layer_dirs`, so the
// lowerdir= option lists them reversed).
//
// Snapshot whiteouts use the overlayfs encoding, so the dirs can be given to
// overlayfs as they are: a deleted path is a char device 0/0, an opaque
// directory carries `trusted.overlay.opaque=y` when earth is root of the
// initial user namespace (running_privileged() in layer.h) and
// `user.overlay.opaque=y` otherwise (mount with `userxattr` then). See
// docs/images.md.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/image/manifest.h"

namespace earth::store {
class IndexWatch;
}

namespace earth::image {

struct ImageRecord {
  std::string name;       // canonical reference, "docker.io/library/busybox:latest"
  Digest manifest_digest; // what cache keys should use
  Digest config_digest;
  std::string os = "linux";
  std::string architecture = "amd64";
  RuntimeConfig config;
  std::vector<Digest> diff_ids;        // uncompressed layer digests, bottom first
  std::vector<std::string> layer_dirs; // snapshot dirs, bottom first, same length
};

struct ResolveOptions {
  bool pull_if_missing = true; // false: fail when the image is not local
  bool always_pull = false;    // re-resolve the tag with the registry (`FROM --pull`)
};

enum class ArchiveFormat { oci, docker };

struct ImageSummary {
  std::string name;
  Digest manifest_digest;
  uint64_t size = 0; // sum of the compressed layer sizes
};

class ImageStore {
public:
  // The default cache dir: $EARTH_CACHE_DIR, else $XDG_CACHE_HOME/earth, else
  // ~/.cache/earth.
  static std::string default_cache_dir();
  // Opens (creating if needed) the store under `cache_dir`.
  static Result<std::unique_ptr<ImageStore>> open(const std::string& cache_dir);
  virtual ~ImageStore() = default;

  // Finds `ref` ("busybox", "alpine:3.19", "host:5000/x@sha256:...") in the
  // store, pulling it when missing (per `opts`), and unpacks any layer that
  // has no snapshot yet. Thread-safe and safe across processes.
  virtual Result<ImageRecord> resolve(std::string_view ref, const ResolveOptions& opts = {}) = 0;

  // The manifest digest `ref` names (pulling per `opts`) without unpacking
  // anything: what a cache key needs, at the cost of an index read when local.
  virtual Result<Digest> manifest_digest(std::string_view ref, const ResolveOptions& opts = {}) = 0;

  // Pulls `ref` from its registry (config file mirrors and credentials apply)
  // and names it `ref` in the store. Does not unpack.
  virtual Result<Digest> pull(std::string_view ref) = 0;

  // Uploads image `ref` from the store to its registry, or to `dest` when
  // given (`SAVE IMAGE --push`); returns the manifest digest.
  virtual Result<Digest> push(std::string_view ref, std::string_view dest = {}) = 0;

  // Loads an OCI archive, an OCI layout directory or a `docker save` archive.
  // `name` overrides the name recorded in the archive; returns the names added.
  virtual Result<std::vector<std::string>> import(const std::string& path,
                                                  std::string_view name = {}) = 0;
  // Writes image `ref` as an archive `docker load`, `podman load` and skopeo read.
  virtual Result<void> export_archive(std::string_view ref, const std::string& path,
                                      ArchiveFormat format) = 0;

  // Creates a new image from `base` plus one layer per dir of `upper_dirs`
  // (bottom first; overlayfs whiteouts become OCI whiteouts), with `config`,
  // under every name of `names` (at least one). This is how `SAVE IMAGE`
  // records a build result. No dirs add no layer; a default-constructed
  // `base` (zero digest) is FROM scratch.
  virtual Result<ImageRecord> commit(const ImageRecord& base,
                                     const std::vector<std::string>& upper_dirs,
                                     const RuntimeConfig& config,
                                     const std::vector<std::string>& names) = 0;

  virtual Result<std::vector<ImageSummary>> list() = 0;
  // Removes a name; blobs and snapshots stay until garbage collection.
  virtual Result<void> remove(std::string_view ref) = 0;
  // Tells `watch` of every rewrite of the name index from now on (the
  // request journal's way to know the build's own).
  virtual void watch_index(store::IndexWatch* watch) = 0;
};

} // namespace earth::image
