// Layer tars (libarchive): unpacking a layer blob into a directory, and
// packing a directory into a layer blob. gzip, zstd and uncompressed tars are
// read; gzip or zstd written.
//
// Unpacking refuses unsafe entries with an error naming the entry: absolute
// paths, ".." components, and any entry (or hardlink target) that would be
// reached through a symlink or would not be a plain directory on the way.
#pragma once

#include <functional>
#include <string>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/store/blob_store.h"

namespace earth::image {

enum class Compression { none, gzip, zstd };
// From a layer media type; unknown types read as "none" (libarchive sniffs anyway).
Compression compression_of(std::string_view media_type);
std::string oci_layer_media_type(Compression c);

enum class WhiteoutMode {
  // OCI whiteouts delete from what is already in the directory (flattening
  // several layers into one tree, as `docker export` would).
  apply,
  // OCI whiteouts become overlayfs whiteouts (char device 0/0, opaque xattr),
  // so the directory can be an overlayfs lower dir above older layers.
  overlay,
};

// Whether `path` is an overlayfs opaque directory (trusted.overlay.opaque or
// user.overlay.opaque = "y"): it hides what lower layers hold below it.
bool is_opaque_dir(const std::string& path);

// Whether earth is root in the initial user namespace (owners, devices and
// trusted.* xattrs can be restored; overlayfs uses trusted.overlay.*).
bool running_privileged();

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::overlay;
  // Restore owners and device nodes; default: running_privileged().
  bool privileged;
  // "trusted.overlay.opaque" when privileged, "user.overlay.opaque" otherwise.
  std::string opaque_xattr;
  UnpackOptions();
};

struct UnpackStats {
  Digest diff_id;         // SHA-256 of the uncompressed tar
  uint64_t tar_bytes = 0; // size of the uncompressed tar
  uint64_t entries = 0;
  uint64_t skipped_devices = 0; // device nodes not made: no privilege, or not in the safe set
};

// Unpacks the (possibly compressed) layer tar at `blob` into `dest`, which
// must exist. `name` is used in error messages (usually the layer digest).
Result<UnpackStats> unpack_layer(const std::string& blob, const std::string& dest,
                                 const UnpackOptions& opts, std::string_view name = {});

// Streams the uncompressed bytes of a (possibly compressed) blob to `sink`
// and returns their digest (the diff_id of a layer).
using ByteSink = std::function<Result<void>(const void* data, size_t len)>;
Result<Digest> read_uncompressed(const std::string& blob, const ByteSink& sink = {});

struct LayerWriteOptions {
  Compression compression = Compression::gzip;
  // Read overlayfs whiteouts in `dir` and write OCI whiteouts instead.
  bool overlay_whiteouts = true;
  // When >= 0, every entry gets this mtime (reproducible layers).
  int64_t fixed_mtime = -1;
};

struct WrittenLayer {
  Digest digest;  // of the compressed blob
  Digest diff_id; // of the uncompressed tar
  uint64_t size = 0;
  std::string media_type;
};

// Packs `dir` (sorted by name: the same tree gives the same bytes) into a new
// blob in `blobs`. Overlay whiteouts are a char device 0/0 or an opaque xattr
// in either the trusted. or user. namespace.
Result<WrittenLayer> write_layer(const std::string& dir, store::BlobStore& blobs,
                                 const LayerWriteOptions& opts = {});

} // namespace earth::image
