// Making what the cache records survive a power cut: a snapshot or step dir
// is flushed to disk before the rename that records it, and the rename is
// flushed before anything can refer to it (docs/formats.md, Durability).
#pragma once

#include <string>

#include "earth/base/error.h"

namespace earth::store {

// Flushes every dirty file of the filesystem holding `path` (syncfs(2)): one
// journal commit, where an fsync per file costs one each. Measured on ext4:
// 2,000 new 4 KiB files in 20 ms by syncfs against 580 ms by fsync per file.
Result<void> sync_filesystem(const std::string& path);
// fsync(2) of a directory: makes the renames and creations in it durable.
Result<void> sync_dir(const std::string& dir);

} // namespace earth::store
