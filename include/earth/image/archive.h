// Image archives: OCI image layouts (a directory or a tar of one) and
// `docker save` archives, read into and written from the blob store.
#pragma once

#include <string>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/store/blob_store.h"

namespace earth::image {

struct ArchivedImage {
  std::string name; // canonical reference; empty when the archive names none
  Digest manifest;  // a single-platform image manifest in the blob store
};

// Copies every image of the OCI layout dir, OCI archive or docker-save
// archive at `path` into `blobs`, verifying each blob's digest; indexes are
// narrowed to the host platform. Returns one entry per image name found.
Result<std::vector<ArchivedImage>> import_archive(const std::string& path, store::BlobStore& blobs);

enum class ArchiveKind { oci, docker };

// Writes `image` (its manifest, config and layers must be in `blobs`) to
// `out` atomically. docker: the `docker save` layout with uncompressed
// layers, readable by `docker load` and skopeo's docker-archive:.
Result<void> export_archive(const ArchivedImage& image, store::BlobStore& blobs,
                            const std::string& out, ArchiveKind kind);

} // namespace earth::image
