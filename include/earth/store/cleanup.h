// Repairs after a crash: a process killed mid-write leaves only entries in
// <cache>/tmp, which nothing reads. Old ones are removed when a store opens.
#pragma once

#include <chrono>
#include <string>

#include "earth/base/error.h"

namespace earth::store {

// Removes entries of <cache_dir>/tmp last modified more than `age` ago (long
// enough that no live writer can still own them); returns how many.
Result<int> remove_stale_temps(const std::string& cache_dir,
                               std::chrono::seconds age = std::chrono::hours(24));

} // namespace earth::store
