#include "earth/store/usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"
#include "earth/store/size_total.h"

namespace earth::store {

namespace {

constexpr std::string_view log_header = "earth-leases 1";
constexpr std::string_view usage_header = "earth-usage 1";

bool valid_kind(char c) {
  return c == 'S' || c == 'L' || c == 'B' || c == 'M' || c == 'O';
}

bool valid_name(std::string_view n) {
  if (n.size() != 64) return false;
  for (char c : n)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// This process's lease log for one cache dir.
struct LeaseLog {
  int fd = -1;    // leases/<pid>-<n>[.a].log, O_APPEND, flocked exclusive while we live
  int gc_fd = -1; // gc.lock
  std::set<std::string> seen;
  std::string base;      // leases/<pid>-<n>
  bool accounted = true; // named .a.log: every byte it records is in the size total
  int64_t pending = 0;   // bytes recorded since the last fold into the size total
  std::string path() const { return base + (accounted ? ".a.log" : ".log"); }
};

// Renames `log` to say whether bytes it holds are missing from the size
// total. Under the shared gc.lock: prune lists the logs under the exclusive
// one and must find every live log under one of its names.
void mark_accounted(LeaseLog& log, bool accounted) {
  if (log.accounted == accounted) return;
  std::string from = log.path();
  log.accounted = accounted;
  if (::rename(from.c_str(), log.path().c_str()) != 0) log.accounted = !accounted;
}

Result<LeaseLog> open_log(const std::string& cache_dir) {
  std::string dir = fs::join(cache_dir, "leases");
  if (auto r = fs::make_dirs(dir); !r) return Failure{r.error()};
  LeaseLog log;
  std::string gc = gc_lock_path(cache_dir);
  log.gc_fd = ::open(gc.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log.gc_fd < 0) return Failure{errno_message(gc, errno)};
  std::string name = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  log.base = fs::join(dir, name);
  std::string path = log.path(); // nothing recorded yet: nothing missing from the size total
  std::string fresh = log.base + ".log.new"; // locked before it gets the name prune reads
  log.fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (log.fd < 0) return Failure{errno_message(fresh, errno)};
  std::string header = std::string(log_header) + "\n";
  if (::flock(log.fd, LOCK_EX) != 0 ||
      ::write(log.fd, header.data(), header.size()) != ssize_t(header.size()) ||
      ::rename(fresh.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(fresh.c_str());
    ::close(log.fd);
    ::close(log.gc_fd);
    return Failure{errno_message(path, err)};
  }
  return log;
}

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// The next whitespace-separated token of `line` (empty at its end).
std::string_view next_token(std::string_view& line) {
  size_t b = 0;
  while (b < line.size() && blank(line[b])) ++b;
  size_t e = b;
  while (e < line.size() && !blank(line[e])) ++e;
  std::string_view tok = line.substr(b, e - b);
  line.remove_prefix(e);
  return tok;
}

// A decimal number (-1 when absent, 0 when not a number, as `>>` reads it).
int64_t number(std::string_view tok) {
  if (tok.empty()) return -1;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  return ec == std::errc() ? v : 0;
}

// Parses a lease log or the usage file: `header`, then one entry per line.
// A torn last line (a writer killed mid-write) is ignored. No stream per
// line: every build's size estimate reads these files.
Result<void> parse_lines(const std::string& path, const std::string& text, std::string_view header,
                         const std::function<void(EntryId, int64_t, int64_t)>& each) {
  std::string_view rest = text;
  if (rest.empty()) return {}; // empty: a writer killed before its header
  auto take_line = [&rest] {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return line;
  };
  std::string_view first = take_line();
  if (first != header)
    return Failure{path + ": unknown format '" + std::string(first.substr(0, 40)) +
                   "' (expected '" + std::string(header) + "'; written by another earth " +
                   "version?); delete it to start the cache's use records afresh"};
  while (!rest.empty()) {
    std::string_view line = take_line();
    size_t b = 0;
    while (b < line.size() && blank(line[b])) ++b;
    if (b == line.size()) continue;
    char kind = line[b];
    line.remove_prefix(b + 1);
    std::string_view name = next_token(line);
    if (!valid_kind(kind) || !valid_name(name)) continue;
    int64_t a = number(next_token(line));
    int64_t c = a < 0 ? -1 : number(next_token(line));
    each({EntryKind(kind), std::string(name)}, a, c);
  }
  return {};
}

void merge(std::map<EntryId, EntryUse>& uses, const EntryId& id, int64_t when, int64_t bytes) {
  EntryUse& u = uses[id];
  u.last_use = std::max(u.last_use, when);
  if (bytes >= 0) u.bytes = bytes;
}

enum class LogOwner { live, dead, gone };

// Whether the process that wrote the log at `path` lives (holds its flock).
// A log that is gone was renamed by its owner meanwhile (mark_accounted).
LogOwner log_owner(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); // never created: it may have been renamed
  if (fd < 0) return LogOwner::gone;
  int r = 0;
  while ((r = ::flock(fd, LOCK_SH | LOCK_NB)) != 0 && errno == EINTR) {
  }
  ::close(fd);
  return r == 0 ? LogOwner::dead : LogOwner::live;
}

// Reads the lease logs: live ones into `leased` (and `uses`, as used now),
// dead ones into `uses` at their mtime and `dead`.
Result<void> read_logs(const std::string& cache_dir, std::map<EntryId, EntryUse>* uses,
                       std::set<EntryId>& leased, std::vector<std::string>* dead) {
  std::string dir = fs::join(cache_dir, "leases");
  auto names = fs::list_dir(dir);
  if (!names) return {}; // no leases dir: nobody ever leased anything
  int64_t now = std::time(nullptr);
  for (const auto& n : *names) {
    std::string path = fs::join(dir, n);
    if (n.ends_with(".log.new")) { // its writer died before naming it (an hour: never a live one)
      struct stat st {};
      if (uses && ::stat(path.c_str(), &st) == 0 && st.st_mtime < now - 3600)
        ::unlink(path.c_str());
      continue;
    }
    if (!n.ends_with(".log")) continue;
    LogOwner owner = log_owner(path);
    if (owner == LogOwner::gone) continue; // renamed by its live owner: read under its new name
    bool live = owner == LogOwner::live;
    if (!live && !uses) continue; // only the leases wanted: a dead log holds none
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    auto text = fs::read_file(path);
    if (!text) continue;
    int64_t when = live ? now : int64_t(st.st_mtime);
    auto r = parse_lines(path, *text, log_header, [&](EntryId id, int64_t bytes, int64_t) {
      if (live) leased.insert(id);
      if (uses) merge(*uses, id, when, bytes);
    });
    if (!r) return r;
    if (!live && dead) dead->push_back(path);
  }
  return {};
}

} // namespace

std::string generation_path(const std::string& cache_dir) {
  return fs::join(cache_dir, "generation");
}

Result<void> bump_generation(const std::string& cache_dir) {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return fs::write_file_atomic(generation_path(cache_dir), "earth-generation 1\n" +
                                                               std::to_string(now.tv_sec) + "." +
                                                               std::to_string(now.tv_nsec) + "\n");
}

std::string gc_lock_path(const std::string& cache_dir) {
  return fs::join(cache_dir, "gc.lock");
}

namespace {

// getpid() without a system call per record: cached, and forgotten in a
// child forked through fork() (pthread_atfork). A child made by a raw clone
// that does not exec never records a use.
std::atomic<pid_t> cached_pid{0};
pid_t current_pid() {
  pid_t p = cached_pid.load(std::memory_order_relaxed);
  if (p != 0) return p;
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, [] { cached_pid = 0; }); });
  p = ::getpid();
  cached_pid.store(p, std::memory_order_relaxed);
  return p;
}

// This process's lease logs, one per cache dir.
struct Leases {
  std::mutex mu;
  std::map<std::string, LeaseLog> logs;
  pid_t owner = 0;
};
Leases& leases() {
  static auto* l = new Leases; // never freed: used until exit
  return *l;
}

// Request journals' use lists (docs/formats.md#request-journals): each
// `journals/*.uses` names entries a journal relies on; its mtime, bumped by
// every build the journal answers, is their last use.
void read_journal_uses(const std::string& cache_dir, std::map<EntryId, EntryUse>& uses) {
  std::string dir = fs::join(cache_dir, "journals");
  auto names = fs::list_dir(dir);
  if (!names) return;
  for (const auto& n : *names) {
    if (!n.ends_with(".uses")) continue;
    std::string path = fs::join(dir, n);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    auto text = fs::read_file(path);
    if (!text) continue;
    (void)parse_lines(path, *text, log_header, [&](EntryId id, int64_t, int64_t) {
      merge(uses, id, int64_t(st.st_mtime), -1);
    });
  }
}

} // namespace

std::vector<EntryId> entries_used(const std::string& cache_dir) {
  Leases& l = leases();
  std::lock_guard guard(l.mu);
  std::vector<EntryId> out;
  auto it = l.logs.find(cache_dir);
  if (it == l.logs.end() || l.owner != current_pid()) return out;
  for (const auto& key : it->second.seen) out.emplace_back(EntryKind(key[0]), key.substr(1));
  return out;
}

Result<void> write_use_list(const std::string& path, const std::vector<EntryId>& entries,
                            fs::Durable durable, bool extend) {
  std::string text;
  if (extend) // the list there, when it is of this version, then `entries` (repeats are harmless)
    if (auto old = fs::read_file(path); old && old->starts_with(std::string(log_header) + "\n"))
      text = std::move(*old);
  if (text.empty()) {
    text = std::string(log_header) + "\n";
    extend = false;
  }
  // Extending: the new lines are appended in place (one O_APPEND write, no
  // rewrite and rename), after a newline that ends a torn last line.
  std::string added = text.ends_with('\n') ? "" : "\n";
  size_t kept = text.size();
  for (const auto& [kind, name] : entries) {
    std::string line = std::string("\n") + char(kind) + " " + name + "\n";
    // Extending: an entry listed already is not listed again.
    if (extend && std::string_view(text).substr(0, kept).find(line) != std::string_view::npos)
      continue;
    added.append(line, 1);
  }
  if (!extend) return fs::write_file_atomic(path, text + added, 0644, durable);
  if (!added.empty()) return fs::append_file(path, added, durable);
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) != 0) // its mtime: the entries' last use
    return Failure{errno_message(path, errno)};
  return {};
}

Result<void> record_use(const std::string& cache_dir, EntryKind kind, std::string_view name,
                        int64_t bytes) {
  UseRecord one{kind, name, bytes};
  return record_uses(cache_dir, std::span<const UseRecord>(&one, 1));
}

Result<void> record_uses(const std::string& cache_dir, std::span<const UseRecord> records) {
  Leases& l = leases();
  std::lock_guard guard(l.mu);
  if (l.owner != current_pid()) { // a forked child holds no lease of its parent's
    l.logs.clear();
    l.owner = current_pid();
  }
  auto it = l.logs.find(cache_dir);
  if (it == l.logs.end()) {
    auto log = open_log(cache_dir);
    if (!log) return Failure{log.error()};
    it = l.logs.emplace(cache_dir, std::move(*log)).first;
  }
  LeaseLog& log = it->second;
  std::string lines;
  std::vector<std::string> keys;
  int64_t made = 0; // bytes the size total does not hold yet
  for (const auto& [kind, name, bytes] : records) {
    std::string key = std::string(1, char(kind)) + std::string(name);
    if (bytes < 0 && (log.seen.contains(key) || std::ranges::find(keys, key) != keys.end()))
      continue;
    lines += std::string(1, char(kind)) + " " + std::string(name);
    if (bytes >= 0) lines += " " + std::to_string(bytes);
    made += std::max<int64_t>(bytes, 0);
    lines += "\n";
    keys.push_back(std::move(key));
  }
  if (lines.empty()) return {};
  // One write under one shared lock for the whole batch: prune sees all of
  // it or none of it.
  while (::flock(log.gc_fd, LOCK_SH) != 0)
    if (errno != EINTR) return Failure{errno_message(gc_lock_path(cache_dir), errno)};
  if (made > 0) mark_accounted(log, false); // before the bytes: a kill leaves it "not counted"
  ssize_t n = ::write(log.fd, lines.data(), lines.size());
  int err = errno;
  ::flock(log.gc_fd, LOCK_UN);
  if (n != ssize_t(lines.size())) return Failure{errno_message("lease log", err)};
  log.pending += made;
  for (auto& k : keys) log.seen.insert(std::move(k));
  return {};
}

Result<SizeTotal> fold_recorded_bytes(const std::string& cache_dir) {
  Leases& l = leases();
  std::lock_guard guard(l.mu);
  auto it = l.logs.find(cache_dir);
  if (it == l.logs.end() || l.owner != current_pid() ||
      (it->second.pending == 0 && it->second.accounted))
    return add_to_size_total(cache_dir, 0); // nothing to fold: the record as it is
  LeaseLog& log = it->second;
  auto t = add_to_size_total(cache_dir, log.pending);
  if (!t) return t;
  log.pending = 0;
  // Counted: a kill from here on leaves a log the size check need not read
  // (a kill before the rename counts these bytes twice, which is safe).
  while (::flock(log.gc_fd, LOCK_SH) != 0)
    if (errno != EINTR) return t;
  mark_accounted(log, true);
  ::flock(log.gc_fd, LOCK_UN);
  return t;
}

LeaseCensus lease_census(const std::string& cache_dir) {
  LeaseCensus c;
  std::string own;
  {
    Leases& l = leases();
    std::lock_guard guard(l.mu);
    auto it = l.logs.find(cache_dir);
    if (it != l.logs.end() && l.owner == current_pid()) own = it->second.path();
  }
  std::string dir = fs::join(cache_dir, "leases");
  auto names = fs::list_dir(dir);
  if (!names) return c;
  for (const auto& n : *names) {
    if (!n.ends_with(".log")) continue;
    ++c.logs;
    if (n.ends_with(".a.log")) continue;
    std::string path = fs::join(dir, n);
    if (path != own && log_owner(path) == LogOwner::dead) ++c.uncounted_dead;
  }
  return c;
}

int64_t tree_bytes(const std::string& path) {
  std::set<std::pair<dev_t, ino_t>> linked;
  int64_t total = 0;
  std::vector<std::string> todo{path};
  while (!todo.empty()) {
    std::string p = std::move(todo.back());
    todo.pop_back();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !linked.insert({st.st_dev, st.st_ino}).second)
      continue;
    total += int64_t(st.st_blocks) * 512;
    if (!S_ISDIR(st.st_mode)) continue;
    if (auto names = fs::list_dir(p))
      for (auto& n : *names) todo.push_back(p + "/" + n);
  }
  return total;
}

Result<UsageSnapshot> read_usage(const std::string& cache_dir) {
  UsageSnapshot s;
  std::string path = fs::join(cache_dir, "usage");
  if (fs::exists(path)) {
    auto text = fs::read_file(path);
    if (!text) return Failure{text.error()};
    auto r = parse_lines(path, *text, usage_header, [&](EntryId id, int64_t when, int64_t bytes) {
      merge(s.uses, id, when, bytes);
    });
    if (!r) return Failure{r.error()};
  }
  if (auto r = read_logs(cache_dir, &s.uses, s.leased, &s.dead_logs); !r) return Failure{r.error()};
  read_journal_uses(cache_dir, s.uses);
  return s;
}

Result<std::set<EntryId>> read_leases(const std::string& cache_dir) {
  std::set<EntryId> leased;
  if (auto r = read_logs(cache_dir, nullptr, leased, nullptr); !r) return Failure{r.error()};
  return leased;
}

Result<void> write_usage(const std::string& cache_dir, const std::map<EntryId, EntryUse>& uses) {
  std::string text = std::string(usage_header) + "\n";
  for (const auto& [id, u] : uses)
    text += std::string(1, char(id.first)) + " " + id.second + " " + std::to_string(u.last_use) +
            " " + std::to_string(u.bytes) + "\n";
  return fs::write_file_atomic(fs::join(cache_dir, "usage"), text);
}

} // namespace earth::store
