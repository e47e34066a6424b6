// How long each step took when it ran, kept so that a cache hit can say
// what it saved (the summary's "the cache saved 12.3s"). One small file
// per step key: <cache>/timings/<key hex> (docs/formats.md).
#pragma once

#include <string>

#include "earth/base/digest.h"
#include "earth/output/status.h"

namespace earth::build {

// 0 when nothing (or something unreadable) was recorded.
output::Duration recorded_step_time(const std::string& cache_dir, const Digest& key);
// Best effort: a timing that cannot be written is only a missing hint.
void record_step_time(const std::string& cache_dir, const Digest& key, output::Duration took);

} // namespace earth::build
