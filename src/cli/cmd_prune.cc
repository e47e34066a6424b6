// `earth prune [--all] [--keep-bytes N] [--keep-duration D]`, and the
// automatic size limit applied after each build (docs/cache.md, Pruning).
#include <cstdio>
#include <optional>

#include "earth/base/error.h"
#include "earth/cli/commands.h"
#include "earth/image/image_store.h"
#include "earth/store/prune.h"
#include "settings.h"

namespace earth::cli {

int cmd_prune(Args& args) {
  store::PruneOptions o;
  o.all = args.flag("--all", "-a");
  if (std::string v = args.option("--keep-bytes"); !v.empty()) {
    auto bytes = store::parse_size(v);
    if (!bytes) throw Error("earth prune --keep-bytes: " + bytes.error());
    o.keep_bytes = *bytes;
  }
  if (std::string v = args.option("--keep-duration"); !v.empty()) {
    auto d = store::parse_duration(v);
    if (!d) throw Error("earth prune --keep-duration: " + d.error());
    o.keep_duration = *d;
  }
  if (auto rest = args.positional("prune"); !rest.empty())
    throw Error("earth prune: unexpected argument '" + rest[0] + "' (see earth prune --help)");
  std::string cache = image::ImageStore::default_cache_dir();
  auto report = store::prune(cache, o);
  if (!report) throw Error("earth prune: " + report.error());
  std::printf("earth prune: %s\n", report->describe().c_str());
  return 0;
}

namespace {

// The config file's global.cache_size_mb / global.cache_size_pct (0: not
// set, as in Earthly), the larger when both are set; nullopt when neither is.
std::optional<store::CacheLimit> configured_limit(const std::string& cache_dir) {
  const config::Config& c = settings();
  int64_t mb = int64_t(c.cache_size_mb.value_or(0));
  unsigned pct = c.cache_size_pct.value_or(0);
  if (mb == 0 && pct == 0) return std::nullopt;
  int64_t by_mb = mb << 20, by_pct = store::percent_of_disk(cache_dir, pct);
  if (by_mb >= by_pct) return store::CacheLimit{by_mb, "global.cache_size_mb in the config file"};
  return store::CacheLimit{by_pct, "global.cache_size_pct in the config file"};
}

} // namespace

void enforce_cache_limit(const std::string& cache_dir, bool ran_steps) {
  auto limit = store::cache_limit_from_env(cache_dir);
  if (!limit) throw Error(limit.error());
  if (!limit->from_env) // EARTH_CACHE_SIZE wins over the config file
    if (auto configured = configured_limit(cache_dir)) *limit = *configured;
  auto report = store::enforce_limit(cache_dir, *limit, ran_steps);
  if (!report) {
    std::fprintf(stderr, "earth: warning: the cache size limit was not applied: %s\n",
                 report.error().c_str());
    return;
  }
  if (report->sum().entries || report->images_unnamed)
    std::fprintf(stderr, "earth: the cache is over its limit of %s (%s): %s\n",
                 store::format_size(limit->max_bytes).c_str(), limit->source.c_str(),
                 report->describe().c_str());
}

void try_enforce_cache_limit(const std::string& cache_dir) {
  try {
    enforce_cache_limit(cache_dir, true);
  } catch (const Error& e) { // the build's own error is the one to report
    std::fprintf(stderr, "earth: warning: %s\n", e.what());
  }
}

} // namespace earth::cli
