// The automatic size limit and the units prune's flags are written in.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"
#include "earth/store/prune.h"

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

// Merges the dead processes' lease logs into <cache>/usage once there are
// many, so that the estimate after each build reads a bounded number of files.
void compact(const std::string& cache_dir, const UsageSnapshot& usage) {
  if (usage.dead_logs.size() < 8) return;
  auto lock = FileLock::try_acquire(fs::join(cache_dir, "prune.lock"));
  if (!lock) return;                  // a prune runs: it merges them
  auto fresh = read_usage(cache_dir); // again, under the lock
  if (!fresh || !write_usage(cache_dir, fresh->uses)) return;
  for (const auto& log : fresh->dead_logs) ::unlink(log.c_str());
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
  if (limit.max_bytes <= 0) return PruneReport{};
  bool recorded = fs::exists(fs::join(cache_dir, "usage"));
  if (recorded) { // the estimate: what the records say, and this build's mounts measured
    auto usage = read_usage(cache_dir);
    if (!usage) return Failure{usage.error()};
    int64_t total = 0;
    for (const auto& [id, u] : usage->uses) {
      int64_t bytes = u.bytes;
      if (ran_steps && id.first == EntryKind::mount && usage->leased.contains(id))
        bytes = tree_bytes(fs::join(cache_dir, "mounts/" + id.second));
      total += std::max<int64_t>(bytes, 0);
    }
    if (total <= limit.max_bytes) {
      compact(cache_dir, *usage);
      return PruneReport{};
    }
  }
  // Over the limit, or never measured: a full prune (it measures and records).
  PruneOptions o;
  o.keep_bytes = limit.max_bytes - limit.max_bytes / 10;
  o.wait = false;
  if (!recorded) o.keep_bytes = limit.max_bytes; // the first measure removes only the excess
  return prune(cache_dir, o);
}

} // namespace earth::store
