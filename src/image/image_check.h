// Whether an image in the blob store is whole and self-consistent. Private
// to the image module: pull, import and the store's "is it local?" use it.
#pragma once

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/store/blob_store.h"

namespace earth::image {

// true: the manifest, its config and every layer are in `blobs`, each blob's
// size is what its descriptor declares, and the config lists one diff_id per
// layer. false: some blob is missing (a pull can fix that). A Failure names
// what is inconsistent.
Result<bool> check_image(const Digest& manifest, const store::BlobStore& blobs);

} // namespace earth::image
