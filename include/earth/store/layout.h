// The cache's layout version: <cache>/layout holds "earth-cache 2". It
// covers every directory and every file that has no version of its own
// (steps/, snapshots/, blobs/, mounts/, outputs/, locks/, tmp/, leases/;
// docs/formats.md). A cache with another layout is refused, never misread.
#pragma once

#include <string>

#include "earth/base/error.h"

namespace earth::store {

inline constexpr int kCacheLayout = 2;

// Checks (once per process and dir) that `cache_dir` has this layout,
// writing the file in a cache that has none yet (a new cache, or one made
// before the file existed, whose layout is 1). A layout-1 cache is moved to
// 2: its step dirs get their markers (snapshots.h). Any other layout fails,
// naming the file and how to recover.
Result<void> check_layout(const std::string& cache_dir);

} // namespace earth::store
