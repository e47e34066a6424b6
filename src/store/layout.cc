#include "earth/store/layout.h"

#include <mutex>
#include <set>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/store/snapshots.h"
#include "earth/store/usage.h"

namespace earth::store {

namespace {

// Layout 1 recorded a step dir by its name alone (it existed only once
// synced); layout 2 by its marker. Every step dir of a layout-1 cache is
// recorded, so each gets its marker. A marker lost in a crash meanwhile
// only makes that step run again.
Result<void> mark_layout1_steps(const std::string& cache_dir) {
  std::string steps = fs::join(cache_dir, "steps");
  auto names = fs::list_dir(steps);
  if (!names) return {}; // no steps yet
  for (const auto& n : *names) {
    std::string dir = fs::join(steps, n);
    if (n.size() != 64 || !fs::is_dir(dir)) continue;
    if (auto r = mark_recorded(dir); !r) return r;
  }
  return {};
}

} // namespace

Result<void> check_layout(const std::string& cache_dir) {
  static std::mutex mu;
  static std::set<std::string> checked;
  std::lock_guard lock(mu);
  if (checked.contains(cache_dir)) return {};
  std::string path = fs::join(cache_dir, "layout");
  std::string expected = "earth-cache " + std::to_string(kCacheLayout);
  if (auto text = fs::read_file(path)) {
    std::string got(trim(*text));
    if (got == "earth-cache 1") {
      if (auto r = mark_layout1_steps(cache_dir); !r) return r;
      if (auto r = fs::write_file_atomic(path, expected + "\n"); !r) return r;
      got = expected;
    }
    if (got != expected)
      return Failure{path + ": this cache has layout '" + got.substr(0, 40) +
                     "', this earth reads '" + expected +
                     "' (written by another earth version); use another cache dir " +
                     "(EARTH_CACHE_DIR) or remove " + cache_dir + " to start afresh"};
  } else {
    // A new cache starts with empty use records: every entry it will hold is
    // recorded as it is made, so the size limit never has to measure it. A
    // cache made before the layout file existed has none: its first size
    // check measures it (store::enforce_limit).
    bool fresh = true;
    for (const char* sub : {"blobs", "steps", "usage"})
      fresh &= !fs::exists(fs::join(cache_dir, sub));
    if (auto r = fs::make_dirs(cache_dir); !r) return r;
    if (fresh) {
      if (auto r = write_usage(cache_dir, {}); !r) return r;
    } else if (auto r = mark_layout1_steps(cache_dir); !r) {
      return r;
    }
    if (auto r = fs::write_file_atomic(path, expected + "\n"); !r) return r;
  }
  checked.insert(cache_dir);
  return {};
}

} // namespace earth::store
