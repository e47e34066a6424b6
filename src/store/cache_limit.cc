// The automatic size limit and the units prune's flags are written in.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"
#include "earth/store/prune.h"
#include "earth/store/size_total.h"

namespace earth::store {

namespace {

constexpr int64_t GiB = int64_t(1) << 30;

int64_t disk_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return int64_t(st.f_blocks) * int64_t(st.f_frsize);
}

// A number followed by a unit word; the rest of `text` after it.
bool take_number(std::string_view& text, double& value, std::string& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  value = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
  size_t j = i;
  while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
  unit = std::string(text.substr(i, j - i));
  for (auto& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
  text.remove_prefix(j);
  return true;
}

// How often the size total is recounted although it says the cache is
// under its limit: it only grows between recounts, but a power cut may lose
// its last folds (it is written without fsync).
constexpr int64_t recount_every = 64;
// Dead lease logs are merged into <cache>/usage (a recount and a prune read
// them all) by a recount once there are this many logs, and a recount is
// made for it at the latest at the second figure. The merge rewrites usage
// durably (an fsync: 5 to 100 ms on a busy disk), so it is rare.
constexpr size_t merge_logs_at = 16;
constexpr size_t merge_logs_by = 64;

// The cache mounts this process leased, measured again (a RUN may have
// filled them), and recorded with their size in its lease log.
std::map<EntryId, int64_t> measure_own_mounts(const std::string& cache_dir) {
  std::map<EntryId, int64_t> sizes;
  std::vector<UseRecord> records;
  for (auto& id : entries_used(cache_dir))
    if (id.first == EntryKind::mount)
      sizes[id] = tree_bytes(fs::join(cache_dir, "mounts/" + id.second));
  for (const auto& [id, bytes] : sizes) records.push_back({id.first, id.second, bytes});
  if (!records.empty()) (void)record_uses(cache_dir, records);
  return sizes;
}

// The exact figure: every entry the use records give, at its last known size
// (`measured` overriding them), written as the new size total. With `merge`,
// and when no prune runs, the dead lease logs are merged into usage too.
Result<int64_t> recount(const std::string& cache_dir, const std::map<EntryId, int64_t>& measured,
                        bool merge) {
  std::optional<FileLock> merging; // prune.lock before the record's lock, as prune takes them
  if (merge)
    if (auto lock = FileLock::try_acquire(fs::join(cache_dir, "prune.lock")))
      merging.emplace(std::move(*lock));
  auto record = SizeRecord::lock(cache_dir); // no fold meanwhile
  if (!record) return Failure{record.error()};
  auto usage = read_usage(cache_dir);
  if (!usage) return Failure{usage.error()};
  int64_t total = 0;
  for (const auto& [id, u] : usage->uses) {
    auto m = measured.find(id);
    total += std::max<int64_t>(m != measured.end() ? m->second : u.bytes, 0);
  }
  if (merging && write_usage(cache_dir, usage->uses).ok())
    for (const auto& log : usage->dead_logs) ::unlink(log.c_str());
  SizeTotal before = record->read_or_unknown();
  if (auto r = record->write({total, before.added, 0}); !r) return Failure{r.error()};
  return total;
}

} // namespace

Result<int64_t> parse_size(std::string_view text) {
  std::string_view rest = text;
  double v = 0;
  std::string unit;
  if (!take_number(rest, v, unit) || !rest.empty())
    return Failure{"'" + std::string(text) + "' is not a size (like 512, 100M, 20GB, 1.5GiB)"};
  static const std::pair<const char*, int> units[] = {
      {"", 0},    {"b", 0}, {"k", 1},  {"kb", 1},  {"kib", 1}, {"m", 2},  {"mb", 2},
      {"mib", 2}, {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4},   {"tb", 4}, {"tib", 4}};
  for (const auto& [name, power] : units)
    if (unit == name) return int64_t(std::llround(v * std::pow(1024.0, power)));
  return Failure{"'" + std::string(text) + "': unknown size unit '" + unit +
                 "' (use K, M, G or T)"};
}

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  std::string_view rest = text;
  double total = 0;
  if (rest.empty()) return Failure{"an empty duration"};
  while (!rest.empty()) {
    double v = 0;
    std::string unit;
    if (!take_number(rest, v, unit))
      return Failure{"'" + std::string(text) + "' is not a duration (like 90s, 30m, 12h, 7d)"};
    static const std::pair<const char*, int> units[] = {
        {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
    bool known = false;
    for (const auto& [name, secs] : units)
      if (unit == name) {
        total += v * secs;
        known = true;
      }
    if (!known)
      return Failure{"'" + std::string(text) + "': unknown duration unit '" + unit +
                     "' (use s, m, h, d or w)"};
  }
  return std::chrono::seconds(std::llround(total));
}

Result<CacheLimit> cache_limit_from_env(const std::string& cache_dir) {
  const char* env = std::getenv("EARTH_CACHE_SIZE");
  if (env && *env) {
    std::string v = env;
    if (v.ends_with("%")) {
      char* end = nullptr;
      double pct = std::strtod(v.c_str(), &end);
      if (end != v.c_str() + v.size() - 1 || pct < 0 || pct > 100)
        return Failure{"EARTH_CACHE_SIZE=" + v + ": a percentage is 0% to 100%"};
      return CacheLimit{percent_of_disk(cache_dir, pct), "EARTH_CACHE_SIZE", true};
    }
    auto bytes = parse_size(v);
    if (!bytes) return Failure{"EARTH_CACHE_SIZE: " + bytes.error()};
    return CacheLimit{*bytes, "EARTH_CACHE_SIZE", true};
  }
  return CacheLimit{std::min<int64_t>(percent_of_disk(cache_dir, 10), 20 * GiB),
                    "the default: 10% of the disk, at most 20 GiB"};
}

int64_t percent_of_disk(const std::string& cache_dir, double pct) {
  std::string dir = fs::exists(cache_dir) ? cache_dir : fs::dirname(cache_dir);
  return int64_t(double(disk_bytes(dir)) * pct / 100);
}

Result<PruneReport> enforce_limit(const std::string& cache_dir, const CacheLimit& limit,
                                  bool ran_steps) {
  std::map<EntryId, int64_t> measured;
  if (ran_steps) measured = measure_own_mounts(cache_dir);
  auto size = fold_recorded_bytes(cache_dir); // with no limit too: a later one needs the total
  if (limit.max_bytes <= 0) return PruneReport{};
  bool recorded = fs::exists(fs::join(cache_dir, "usage"));
  if (recorded) {
    // The cheap check: the size total, and the lease logs' names.
    LeaseCensus logs = lease_census(cache_dir);
    bool sure_under = size && size->total >= 0 && size->total <= limit.max_bytes &&
                      size->folds < recount_every && logs.uncounted_dead == 0;
    if (sure_under && logs.logs < merge_logs_by) return PruneReport{};
    // Maybe over, or the total unknown or due: the exact figure.
    auto total = recount(cache_dir, measured, logs.logs >= merge_logs_at || logs.uncounted_dead);
    if (!total) return Failure{total.error()};
    if (*total <= limit.max_bytes) return PruneReport{};
  }
  // Over the limit, or never measured: a full prune (it measures and records).
  PruneOptions o;
  o.keep_bytes = limit.max_bytes - limit.max_bytes / 10;
  o.wait = false;
  if (!recorded) o.keep_bytes = limit.max_bytes; // the first measure removes only the excess
  return prune(cache_dir, o);
}

} // namespace earth::store
