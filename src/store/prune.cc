#include "earth/store/prune.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/store/cleanup.h"
#include "earth/store/file_lock.h"
#include "earth/store/image_index.h"
#include "earth/store/layout.h"
#include "earth/store/size_total.h"
#include "earth/store/snapshots.h"

namespace earth::store {

namespace {

// One entry found on disk.
struct Entry {
  EntryId id;
  std::string path;
  int64_t mtime = 0;
  EntryUse use; // last use and size: from the records, else mtime and a measure
};

struct KindDir {
  EntryKind kind;
  const char* dir;
};
constexpr KindDir kind_dirs[] = {{EntryKind::step, "steps"},
                                 {EntryKind::snapshot, "snapshots"},
                                 {EntryKind::blob, "blobs/sha256"},
                                 {EntryKind::mount, "mounts"},
                                 {EntryKind::output, "outputs"}};

bool is_hex64(const std::string& n) {
  return n.size() == 64 && n.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Every entry of the cache, and the leftovers of killed writers in outputs/
// (temp files of write_file_atomic) older than an hour, in `junk`.
std::vector<Entry> scan(const std::string& cache_dir, std::vector<std::string>& junk) {
  std::vector<Entry> out;
  int64_t hour_ago = std::time(nullptr) - 3600;
  for (const auto& [kind, sub] : kind_dirs) {
    std::string dir = fs::join(cache_dir, sub);
    auto names = fs::list_dir(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      std::string path = fs::join(dir, n);
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) continue;
      if (!is_hex64(n)) {
        if (kind == EntryKind::output && n.find(".tmp.") != std::string::npos &&
            st.st_mtime < hour_ago)
          junk.push_back(path);
        continue; // mounts/<hex>.lock and the like go with their entry
      }
      out.push_back({{kind, n}, path, int64_t(st.st_mtime), {}});
    }
  }
  return out;
}

// The records beside the entries: each is a cache of what some step dirs
// hold, so it goes when they go (docs/cache.md, Pruning).
struct Record {
  RecordKind kind;
  std::string path, name;
  int64_t bytes = 0;
};

struct RecordDir {
  RecordKind kind;
  const char* dir;
};
constexpr RecordDir record_dirs[] = {{RecordKind::target, "targets"},
                                     {RecordKind::timing, "timings"},
                                     {RecordKind::explain, "explain"}};

int64_t file_bytes(const struct stat& st) {
  return int64_t(st.st_blocks) * 512;
}

// targets/*, timings/*, explain/* and stat-cache; a writer's temp file
// (write_file_atomic's ".tmp.", step_time's ".tmp-") older than
// an hour goes to `junk`.
std::vector<Record> scan_records(const std::string& cache_dir, std::vector<std::string>& junk) {
  std::vector<Record> out;
  int64_t hour_ago = std::time(nullptr) - 3600;
  struct stat st {};
  for (const auto& [kind, sub] : record_dirs) {
    std::string dir = fs::join(cache_dir, sub);
    auto names = fs::list_dir(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      std::string path = fs::join(dir, n);
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (is_hex64(n))
        out.push_back({kind, path, n, file_bytes(st)});
      else if (n.find(".tmp") != std::string::npos && st.st_mtime < hour_ago)
        junk.push_back(path);
    }
  }
  std::string stat_cache = fs::join(cache_dir, "stat-cache");
  if (::lstat(stat_cache.c_str(), &st) == 0)
    out.push_back({RecordKind::stat_cache, stat_cache, "stat-cache", file_bytes(st)});
  return out;
}

// A step dir counts once recorded (snapshots.h); a snapshot dir once it
// exists.
bool step_exists(const std::string& cache_dir, std::string_view sub, std::string_view hex) {
  std::string path = fs::join(cache_dir, std::string(sub) + "/" + std::string(hex));
  return sub == "steps" ? is_recorded(path) : fs::is_dir(path);
}

// A target record names its layers by absolute path: one ".../steps/<hex>"
// or ".../snapshots/<hex>" that is gone makes the record useless (the build
// would not use it).
bool target_record_live(const std::string& cache_dir, const std::string& text) {
  for (std::string_view sub : {"steps", "snapshots"}) {
    std::string needle = "/" + std::string(sub) + "/";
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      std::string hex = text.substr(at + needle.size(), 64); // the next token may follow
      if (is_hex64(hex) && !step_exists(cache_dir, sub, hex)) return false;
    }
  }
  return true;
}

// An explain record is kept while one step it names still exists (it then
// says which results are gone), or when it names none (a walk without
// steps); one that does not parse is garbage.
bool explain_record_live(const std::string& cache_dir, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("steps") || !j["steps"].is_array()) return false;
  if (j["steps"].empty()) return true;
  for (const auto& s : j["steps"])
    if (s.is_object() && s.contains("key") && s["key"].is_string())
      if (auto hex = s["key"].get<std::string>();
          is_hex64(hex) && step_exists(cache_dir, "steps", hex))
        return true;
  return false;
}

// Whether `r` still describes something the cache holds: a timing its step
// dir, a target record every layer it names.
bool record_live(const std::string& cache_dir, const Record& r) {
  switch (r.kind) {
  case RecordKind::timing:
    return step_exists(cache_dir, "steps", r.name);
  case RecordKind::stat_cache:
    return true; // host files, not cache entries: only --all clears it
  case RecordKind::target:
  case RecordKind::explain:
    break;
  }
  auto text = fs::read_file(r.path);
  if (!text) return true; // replaced or removed meanwhile: leave it
  return r.kind == RecordKind::target ? target_record_live(cache_dir, *text)
                                      : explain_record_live(cache_dir, *text);
}

// After the entries went: removes the records that point at what is gone
// (with `all`, every record); returns the bytes of those that stay.
int64_t prune_records(const std::string& cache_dir, const std::vector<Record>& records, bool all,
                      PruneReport& report) {
  int64_t kept = 0;
  bool bumped = false; // request journals rely on target records without statting them
  for (const auto& r : records) {
    bool doomed = all || !record_live(cache_dir, r);
    if (doomed && !bumped) bumped = bump_generation(cache_dir).ok();
    if (doomed && ::unlink(r.path.c_str()) == 0) {
      auto& c = report.records_removed[r.kind];
      ++c.entries;
      c.bytes += r.bytes;
    } else {
      kept += r.bytes;
    }
  }
  return kept;
}

Result<std::string> read_blob(const std::string& cache_dir, const std::string& hex) {
  return fs::read_file(fs::join(cache_dir, "blobs/sha256/" + hex));
}

std::string hex_of(const nlohmann::json& j) {
  if (!j.is_string()) return {};
  std::string s = j.get<std::string>();
  return s.starts_with("sha256:") ? s.substr(7) : std::string();
}

// The blobs and snapshots an image manifest needs: the OCI fields
// config.digest, layers[].digest, and the config's rootfs.diff_ids.
void add_image(const std::string& cache_dir, const std::string& manifest,
               std::set<EntryId>& needed) {
  needed.insert({EntryKind::blob, manifest});
  auto text = read_blob(cache_dir, manifest);
  if (!text) return;
  auto m = nlohmann::json::parse(*text, nullptr, false);
  if (!m.is_object()) return;
  std::string config =
      m.contains("config") ? hex_of(m["config"].value("digest", nlohmann::json())) : std::string();
  if (!config.empty()) needed.insert({EntryKind::blob, config});
  for (const auto& l : m.value("layers", nlohmann::json::array()))
    if (l.is_object())
      if (auto h = hex_of(l.value("digest", nlohmann::json())); !h.empty())
        needed.insert({EntryKind::blob, h});
  if (config.empty()) return;
  auto ctext = read_blob(cache_dir, config);
  if (!ctext) return;
  auto c = nlohmann::json::parse(*ctext, nullptr, false);
  if (!c.is_object() || !c.contains("rootfs") || !c["rootfs"].is_object()) return;
  for (const auto& d : c["rootfs"].value("diff_ids", nlohmann::json::array()))
    if (auto h = hex_of(d); !h.empty()) needed.insert({EntryKind::snapshot, h});
}

// What the image names protect; with `all`, drops the names whose image no
// live process holds, and protects only the others.
Result<std::set<EntryId>> image_protection(const std::string& cache_dir, bool all,
                                           const std::set<EntryId>& leased, PruneReport& report) {
  ImageIndex index(cache_dir);
  auto names = index.load();
  if (!names) return Failure{names.error()};
  std::set<EntryId> needed;
  for (const auto& [name, digest] : *names) {
    if (all && !leased.contains({EntryKind::blob, digest.hex()})) {
      auto removed = index.remove(name);
      if (!removed) return Failure{removed.error()};
      report.images_unnamed += *removed;
      continue;
    }
    add_image(cache_dir, digest.hex(), needed);
  }
  return needed;
}

bool is_dir_kind(EntryKind k) {
  return k == EntryKind::step || k == EntryKind::snapshot || k == EntryKind::mount;
}

// The lock files that go with an entry.
std::vector<std::string> lock_files(const std::string& cache_dir, const Entry& e) {
  if (e.id.first == EntryKind::mount) return {e.path + ".lock"};
  if (e.id.first == EntryKind::step || e.id.first == EntryKind::snapshot)
    return {fs::join(cache_dir, "locks/snapshot-" + e.id.second + ".lock")};
  return {};
}

// Under the exclusive gc lock: moves the victims no live process leased
// out of sight (dirs into this process's temp dir, files unlinked); returns
// the dirs to delete once the lock is released.
Result<std::vector<std::string>> take_away(const std::string& cache_dir,
                                           const std::vector<const Entry*>& victims,
                                           PruneReport& report) {
  auto gc = FileLock::acquire(gc_lock_path(cache_dir));
  if (!gc) return Failure{gc.error()};
  // Before anything goes: a request journal made before now no longer
  // proves what is in the cache.
  if (!victims.empty())
    if (auto r = bump_generation(cache_dir); !r) return Failure{r.error()};
  auto leased = read_leases(cache_dir);
  if (!leased) return Failure{leased.error()};
  auto own = process_temp_dir(cache_dir);
  if (!own) return Failure{own.error()};
  std::vector<std::string> doomed;
  for (const Entry* e : victims) {
    if (leased->contains(e->id)) continue;
    std::vector<FileLock> held; // a lock someone holds: the entry is being made or used
    bool busy = false;
    for (const auto& l : lock_files(cache_dir, *e)) {
      if (!fs::exists(l)) continue;
      auto lock = FileLock::try_acquire(l);
      if (!lock)
        busy = true;
      else
        held.push_back(std::move(*lock));
    }
    if (busy) continue;
    if (is_dir_kind(e->id.first)) {
      if (e->id.first == EntryKind::step) // unrecorded first: never a marker without its dir
        ::unlink((e->path + kRecordedSuffix).c_str());
      std::string to = fs::join(*own, "doomed-" + std::string(1, char(e->id.first)) + e->id.second);
      if (::rename(e->path.c_str(), to.c_str()) != 0) continue;
      doomed.push_back(to);
    } else if (::unlink(e->path.c_str()) != 0) {
      continue;
    }
    for (const auto& l : lock_files(cache_dir, *e)) ::unlink(l.c_str());
    auto& c = report.removed[e->id.first];
    ++c.entries;
    c.bytes += std::max<int64_t>(e->use.bytes, 0);
    kill_point("prune-moved");
  }
  return doomed;
}

} // namespace

PruneReport::Count PruneReport::sum() const {
  Count s;
  for (const auto& [k, c] : removed) {
    s.entries += c.entries;
    s.bytes += c.bytes;
  }
  for (const auto& [k, c] : records_removed) {
    s.entries += c.entries;
    s.bytes += c.bytes;
  }
  return s;
}

std::string format_size(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string PruneReport::describe() const {
  struct Words {
    EntryKind kind;
    const char *one, *many;
  };
  static const Words words[] = {{EntryKind::step, "step result", "step results"},
                                {EntryKind::mount, "cache mount", "cache mounts"},
                                {EntryKind::output, "output marker", "output markers"},
                                {EntryKind::snapshot, "unpacked layer", "unpacked layers"},
                                {EntryKind::blob, "blob", "blobs"}};
  std::string parts;
  for (const auto& w : words) {
    auto it = removed.find(w.kind);
    if (it == removed.end() || !it->second.entries) continue;
    int64_t n = it->second.entries;
    parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + (n == 1 ? w.one : w.many);
  }
  struct RecordWords {
    RecordKind kind;
    const char *one, *many;
  };
  static const RecordWords record_words[] = {
      {RecordKind::target, "target record", "target records"},
      {RecordKind::timing, "step timing", "step timings"},
      {RecordKind::explain, "explain record", "explain records"},
      {RecordKind::stat_cache, "stat cache", "stat caches"}};
  for (const auto& w : record_words) {
    auto it = records_removed.find(w.kind);
    if (it == records_removed.end() || !it->second.entries) continue;
    int64_t n = it->second.entries;
    parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + (n == 1 ? w.one : w.many);
  }
  if (images_unnamed)
    parts += (parts.empty() ? "" : ", ") + std::to_string(images_unnamed) + " image name" +
             (images_unnamed == 1 ? "" : "s");
  Count s = sum();
  std::string text =
      parts.empty() ? "removed nothing" : "removed " + parts + " (" + format_size(s.bytes) + ")";
  return text + "; the cache holds " + format_size(total_after);
}

Result<PruneReport> prune(const std::string& cache_dir, const PruneOptions& o) {
  PruneReport report;
  if (auto r = check_layout(cache_dir); !r) return Failure{r.error()};
  std::string lock_path = fs::join(cache_dir, "prune.lock");
  auto lock = o.wait ? FileLock::acquire(lock_path) : FileLock::try_acquire(lock_path);
  if (!lock) {
    if (o.wait) return Failure{lock.error()};
    report.skipped = true;
    return report;
  }
  (void)remove_stale_temps(cache_dir);
  auto recount = SizeRecount::begin(cache_dir); // before anything is counted
  auto usage = read_usage(cache_dir);
  if (!usage) return Failure{usage.error()};
  std::vector<std::string> junk;
  std::vector<Entry> entries = scan(cache_dir, junk);
  std::vector<Record> records = scan_records(cache_dir, junk);
  for (const auto& j : junk) ::unlink(j.c_str());
  struct stat gen_before {};
  bool had_generation = ::stat(generation_path(cache_dir).c_str(), &gen_before) == 0;
  if (o.all) // every record goes
    if (auto r = bump_generation(cache_dir); !r) return Failure{r.error()};
  auto needed = image_protection(cache_dir, o.all, usage->leased, report);
  if (!needed) return Failure{needed.error()};
  for (auto& e : entries) {
    auto it = usage->uses.find(e.id);
    if (it != usage->uses.end()) e.use = it->second;
    if (e.use.last_use == 0) e.use.last_use = e.mtime; // made before use records
    if (e.use.bytes < 0 || e.id.first == EntryKind::mount) e.use.bytes = tree_bytes(e.path);
    report.total_before += e.use.bytes;
  }
  for (const auto& r : records) report.total_before += r.bytes;
  int64_t cutoff = o.keep_duration ? std::time(nullptr) - o.keep_duration->count() : INT64_MAX;
  std::vector<const Entry*> victims;
  for (const auto& e : entries)
    if (!needed->contains(e.id) && !usage->leased.contains(e.id) && e.use.last_use <= cutoff)
      victims.push_back(&e);
  std::stable_sort(victims.begin(), victims.end(), [](const Entry* a, const Entry* b) {
    return a->use.last_use < b->use.last_use;
  });
  if (o.keep_bytes) { // least recently used first, until the cache fits
    int64_t total = report.total_before;
    size_t n = 0;
    while (n < victims.size() && total > *o.keep_bytes) total -= victims[n++]->use.bytes;
    victims.resize(n);
  }
  auto doomed = take_away(cache_dir, victims, report);
  if (!doomed) return Failure{doomed.error()};
  for (const auto& d : *doomed) (void)fs::remove_all(d);
  // Empty-step records (empty_steps.h) name no entry and cost 65 bytes
  // each; they go with --all (another process may append to its open log:
  // that record is lost, which only makes its step run again).
  if (o.all) ::unlink(fs::join(cache_dir, "steps-empty").c_str());
  int64_t records_kept = prune_records(cache_dir, records, o.all, report);
  std::map<EntryId, EntryUse> kept;
  for (const auto& e : entries)
    if (fs::exists(e.path)) kept[e.id] = e.use;
  int64_t entries_kept = 0;
  for (const auto& [id, u] : kept) entries_kept += u.bytes;
  report.total_after = records_kept + entries_kept;
  if (auto r = write_usage(cache_dir, kept); !r) return Failure{r.error()};
  if (recount) (void)recount->finish(entries_kept); // the size limit's figure: entries only
  for (const auto& log : usage->dead_logs) ::unlink(log.c_str()); // merged: usage is written
  // A new generation: no request journal made before holds any more.
  struct stat gen_after {};
  if (::stat(generation_path(cache_dir).c_str(), &gen_after) == 0 &&
      (!had_generation || gen_after.st_ino != gen_before.st_ino ||
       gen_after.st_mtim.tv_nsec != gen_before.st_mtim.tv_nsec))
    (void)fs::remove_all(fs::join(cache_dir, "journals"));
  return report;
}

} // namespace earth::store
