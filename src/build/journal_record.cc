// The request journal's recording (include/earth/build/journal.h): what
// the full path notes, whose each path is, and the journal it makes — with
// a partial build's, what it carries from the previous one — and the
// resolver's recording Disk.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <unordered_map>

#include "earth/base/fs.h"
#include "earth/base/stat_cache.h"
#include "earth/build/journal.h"

namespace earth::build {

namespace {

// Git's racy-clean rule (base/stat_cache.h), on what the path's stat says.
bool racy(const PathStat& st, int64_t started_ns) {
  if (st.kind == PathStat::Kind::absent) return false;
  return earth::racy(StatKey{st.dev, st.ino, st.size, st.mtime_ns, st.ctime_ns}, started_ns);
}

// Whether `path` is `dir` or a path below it.
bool at_or_below(std::string_view path, std::string_view dir) {
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

// An identity no stat has: a check against it always misses.
} // namespace

// --- recording

void JournalRecorder::note(const std::string& path, bool follow, const PathStat& st,
                           const PathOwner& owner) {
  std::lock_guard lock(mu_);
  if (!refused_.empty()) return; // nothing will be written
  // Seen before with another identity: it changed during the build. The
  // first identity stands, so that the next check finds the change.
  paths_.try_emplace({path, follow}, Noted{st, {}}).first->second.owners.insert(owner);
}

void JournalRecorder::note_path(const std::string& path, bool follow, const PathOwner& owner) {
  {
    // Refused: nothing will be written. Already noted: the stat taken
    // before its first read stands (any later change makes the next check
    // miss), so a second look costs no stat.
    std::lock_guard lock(mu_);
    if (!refused_.empty()) return;
    if (auto it = paths_.find({path, follow}); it != paths_.end()) {
      it->second.owners.insert(owner);
      return;
    }
  }
  auto st = PathStat::of(path, follow);
  if (!st) return refuse(path + " could not be checked");
  note(path, follow, *st, owner);
}

void JournalRecorder::note_tree(const std::string& path, const PathOwner& owner) {
  if (!refused().empty()) return; // nothing will be written
  std::vector<std::string> todo{path};
  while (!todo.empty()) {
    std::string p = std::move(todo.back());
    todo.pop_back();
    auto st = PathStat::of(p, false);
    if (!st) return refuse(p + " could not be checked");
    note(p, false, *st, owner);
    if (st->kind != PathStat::Kind::dir) continue;
    auto names = fs::list_dir(p);
    if (!names) return refuse(p + " could not be listed");
    for (const auto& n : *names) todo.push_back(p + "/" + n);
  }
}

void JournalRecorder::note_output(const std::string& path, const Digest& target) {
  {
    std::lock_guard lock(mu_);
    outputs_.insert(path);
  }
  note_tree(path, {PathOwner::Kind::output, {}, target});
}

void JournalRecorder::note_target(JournalTarget target) {
  std::lock_guard lock(mu_);
  targets_.push_back(std::move(target));
}

void JournalRecorder::inherit(Journal previous, PackedPaths paths, std::set<Digest> rebuilt) {
  std::lock_guard lock(mu_);
  previous_ = std::move(previous);
  previous_paths_ = paths;
  rebuilt_ = std::move(rebuilt);
}

// Stats the fast path need not repeat (each costs ~1 µs of a ~1 ms check):
// a path also noted without following links whose last component is no
// link (stat and lstat then agree), and an absent path whose directory is
// noted (creating an entry changes the directory's mtime) — each only when
// the path kept covers at least the same targets. Called locked.
bool JournalRecorder::redundant(const PathKey& key, const Noted& n) const {
  auto covers = [&](const Noted& other) {
    return other.owners.contains(PathOwner{}) || other.owners == n.owners;
  };
  const auto& [path, follow] = key;
  if (follow) {
    auto it = paths_.find({path, false});
    if (it != paths_.end() && it->second.st.kind != PathStat::Kind::link && it->second.st == n.st &&
        covers(it->second))
      return true;
  }
  if (n.st.kind != PathStat::Kind::absent || !path.starts_with("/")) return false;
  std::string dir = fs::dirname(path);
  for (bool f : {false, true})
    if (auto it = paths_.find({dir, f});
        it != paths_.end() && it->second.st.kind == PathStat::Kind::dir && covers(it->second))
      return true;
  return false;
}

void JournalRecorder::refuse(std::string why) {
  std::lock_guard lock(mu_);
  if (refused_.empty()) refused_ = std::move(why);
}

std::string JournalRecorder::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

// The journal's targets and groups as they are made: each target once
// (by its instance key), each distinct set of targets once. A partial
// build starts from the previous journal's, at their indices and numbers.
struct JournalRecorder::Groups {
  std::vector<JournalTarget>& targets;
  std::vector<std::vector<uint32_t>> list;
  std::map<std::vector<uint32_t>, uint32_t> index; // members → group (from 1), see inherit
  std::unordered_map<Digest, uint32_t> by_key;     // instance key → target
  std::vector<std::pair<std::string_view, uint32_t>> by_context; // sorted: context dir → target

  // `noted`: the targets this build keyed, each in place of the one of the
  // same instance (same key, so same context), or added.
  Groups(std::vector<JournalTarget>& ts, const std::vector<JournalTarget>& noted) : targets(ts) {
    by_key.reserve(targets.size() + noted.size());
    for (uint32_t i = 0; i < targets.size(); ++i) by_key.emplace(targets[i].key, i);
    for (const auto& t : noted) {
      auto [it, fresh] = by_key.emplace(t.key, uint32_t(targets.size()));
      if (fresh)
        targets.push_back(t);
      else
        targets[it->second] = t;
    }
    for (uint32_t i = 0; i < targets.size(); ++i)
      if (!targets[i].context.empty()) by_context.emplace_back(targets[i].context, i);
    std::sort(by_context.begin(), by_context.end());
  }
  // The previous journal's groups, at their numbers; which of them hold a
  // target of `rebuilt` (their paths are not carried). Only those are
  // indexed for the paths noted now, which each belong to a rebuilt target.
  std::vector<bool> inherit(std::vector<std::vector<uint32_t>> previous,
                            const std::set<Digest>& rebuilt) {
    std::vector<bool> was_rebuilt(targets.size(), false);
    for (const auto& key : rebuilt)
      if (auto it = by_key.find(key); it != by_key.end()) was_rebuilt[it->second] = true;
    list = std::move(previous);
    std::vector<bool> dropped(list.size(), false);
    for (uint32_t g = 0; g < list.size(); ++g) {
      for (uint32_t t : list[g]) dropped[g] = dropped[g] || t >= targets.size() || was_rebuilt[t];
      if (dropped[g]) index.emplace(list[g], g + 1);
    }
    return dropped;
  }
  uint32_t add(std::vector<uint32_t> members) {
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    if (members.empty()) return 0;
    auto [it, fresh] = index.try_emplace(members, uint32_t(list.size() + 1));
    if (fresh) list.push_back(std::move(members));
    return it->second;
  }
};

// 0 (the request's) when a request owner is among them or an owner names
// no target of the build.
uint32_t JournalRecorder::group_of(const std::set<PathOwner>& owners, Groups& groups) const {
  std::vector<uint32_t> members;
  for (const auto& o : owners) {
    if (o.kind == PathOwner::Kind::request) return 0;
    if (o.kind == PathOwner::Kind::context) {
      auto [begin, end] =
          std::equal_range(groups.by_context.begin(), groups.by_context.end(),
                           std::pair{std::string_view(o.dir), 0u},
                           [](const auto& a, const auto& b) { return a.first < b.first; });
      if (begin == end) return 0;
      for (auto it = begin; it != end; ++it) members.push_back(it->second);
    } else {
      auto it = groups.by_key.find(o.target);
      if (it == groups.by_key.end()) return 0;
      members.push_back(it->second);
    }
  }
  return groups.add(std::move(members));
}

// A partial build's journal: the previous journal's paths this build did
// not look at, record by record as they are, unless their group holds a
// target that was rebuilt (it noted what it reads now). They were
// unchanged when the build started. False when the table is damaged.
bool JournalRecorder::carry(Journal& j, const std::vector<bool>& dropped) const {
  std::deque<std::string> names; // a few: journaled as carried records are
  std::set<std::pair<std::string_view, bool>> noted;
  for (const auto& [key, n] : paths_)
    noted.emplace(names.emplace_back(journaled(key.first)), key.second);
  bool known = true;
  auto kept = copy_paths(previous_paths_, j.carried.paths,
                         [&](std::string_view path, bool follow, uint32_t group) {
                           if (group > dropped.size()) known = false;
                           if (!known || (group > 0 && dropped[group - 1])) return false;
                           return !noted.contains({path, follow});
                         });
  if (!kept || !known) return false;
  j.carried.path_count = *kept;
  return true;
}

std::optional<Journal> JournalRecorder::finish(std::vector<JournalEvent> events,
                                               output::BuildTotals totals, JournalPart carried) {
  std::lock_guard lock(mu_);
  if (!refused_.empty()) return std::nullopt;
  Journal j;
  j.written_at_ns = started_ns_;
  j.carried = std::move(carried);
  if (previous_) j.targets = std::move(previous_->targets);
  Groups groups(j.targets, targets_);
  std::vector<bool> dropped;
  if (previous_) dropped = groups.inherit(std::move(previous_->groups), rebuilt_);
  for (const auto& [key, n] : paths_) {
    uint32_t group = group_of(n.owners, groups);
    PathStat st = n.st;
    if (racy(st, started_ns_) && !from_output(key.first)) {
      if (group == 0) {
        refused_ = key.first + " changed too recently to be trusted (racy)";
        return std::nullopt;
      }
      // No stat has this identity: the next check rebuilds its targets.
      st = PathStat::untrusted();
    }
    // A request path changed during the build (a directory an output was
    // written into) would make the next check take the full path: not
    // worth writing, unless the build replaced it itself and no one else
    // did. A target's path makes it rebuild that target only.
    if (group == 0) {
      auto now = PathStat::of(key.first, key.second);
      if (!now || (*now != n.st && !rewritten_from(key.first, n.st, *now))) {
        refused_ = key.first + " changed during the build";
        return std::nullopt;
      }
      st = *now;
    }
    if (!redundant(key, n)) j.paths.push_back({journaled(key.first), key.second, st, group});
  }
  if (previous_ && !carry(j, dropped)) {
    refused_ = "the previous journal's paths do not decode";
    return std::nullopt;
  }
  j.groups = std::move(groups.list);
  // A no-op of this build: every target cached, every step a hit saving
  // what it cost when it ran.
  j.events = std::move(events);
  j.totals = std::move(totals);
  auto& t = j.totals;
  t.targets_cached = t.targets;
  t.targets_failed = 0;
  t.steps_run = 0;
  t.steps_cached = j.carried.totals.steps_cached;
  t.saved = j.carried.totals.saved;
  for (const auto& e : j.events)
    if (e.kind == JournalEvent::Kind::step_cached) {
      ++t.steps_cached;
      t.saved += output::Duration{e.ns};
    }
  t.wall = {};
  t.error.clear();
  return j;
}

void JournalRecorder::rewriting(const std::string& file) {
  note_rewrite(file);
}

void JournalRecorder::rewritten(const std::string& file) {
  note_rewrite(file);
}

// The stat of `file` just before or after a rewrite; one no stat has when
// it cannot be taken.
void JournalRecorder::note_rewrite(const std::string& file) {
  auto st = PathStat::of(file, true);
  std::lock_guard lock(mu_);
  rewrites_[file].push_back(st ? *st : PathStat::untrusted());
}

// Whether the build's own rewrites of `path` lead from `noted` to `now`,
// each starting from where the last left it (called locked).
bool JournalRecorder::rewritten_from(const std::string& path, const PathStat& noted,
                                     const PathStat& now) const {
  auto it = rewrites_.find(path);
  if (it == rewrites_.end() || it->second.size() % 2 != 0) return false;
  PathStat at = noted;
  for (size_t i = 0; i < it->second.size(); i += 2) {
    if (it->second[i] != at) return false;
    at = it->second[i + 1];
  }
  return at == now;
}

// How `path` is journaled: relative to base_ when it is base_ or below it.
std::string JournalRecorder::journaled(const std::string& path) const {
  if (base_.empty() || base_ == "/" || !at_or_below(path, base_)) return path;
  return path.size() == base_.size() ? "." : path.substr(base_.size() + 1);
}

// An output's tree (called locked).
bool JournalRecorder::from_output(const std::string& path) const {
  return std::any_of(outputs_.begin(), outputs_.end(),
                     [&](const std::string& o) { return at_or_below(path, o); });
}

// --- the resolver's disk

namespace {

// On the real disk, one stat both noted and answered: a file, a directory
// or a certainly absent path; nullopt for anything else (a link, a FIFO, an
// error…), which the caller notes and asks its disk about as before.
std::optional<FileStat> noted_stat(JournalRecorder& j, const std::string& path, bool follow) {
  struct stat st;
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
    int err = errno;
    if (err != ENOENT && err != ENOTDIR) return std::nullopt;
    j.note(path, follow, PathStat{});
    FileStat missing;
    missing.error = err;
    return missing;
  }
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return std::nullopt;
  j.note(path, follow, PathStat::from(st));
  FileStat out;
  out.kind = S_ISREG(st.st_mode) ? FileStat::Kind::file : FileStat::Kind::dir;
  if (out.kind == FileStat::Kind::dir) out.what = "a directory";
  return out;
}

} // namespace

FileStat RecordingDisk::stat(const std::string& path) const {
  if (&inner_ == &real_disk())
    if (auto st = noted_stat(j_, path, true)) return *st;
  j_.note_path(path, true);
  return inner_.stat(path);
}
FileStat RecordingDisk::lstat(const std::string& path) const {
  if (&inner_ == &real_disk())
    if (auto st = noted_stat(j_, path, false)) return *st;
  j_.note_path(path, false);
  return inner_.lstat(path);
}
Result<std::string> RecordingDisk::read_file(const std::string& path) const {
  j_.note_path(path, true);
  return inner_.read_file(path);
}
Result<std::vector<std::string>> RecordingDisk::list_dir(const std::string& path) const {
  j_.note_path(path, true);
  return inner_.list_dir(path);
}

} // namespace earth::build
