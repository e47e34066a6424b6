// The request journal: its format, its recorder and its check
// (include/earth/build/journal.h, docs/formats.md#request-journals).
#include "earth/build/journal.h"

#include <cerrno>
#include <stdexcept>

#include "earth/base/fs.h"
#include "earth/base/stat_cache.h"
#include "earth/base/tokens.h"

namespace earth::build {

namespace {

// Length-prefixed tokens after a magic line with the version (base/tokens.h).
std::string journal_magic() {
  return std::string(kJournalMagic) + " " + std::to_string(kJournalVersion);
}

class Writer : public TokenWriter {
public:
  Writer() : TokenWriter(journal_magic()) {}
};

class Reader : public TokenReader {
public:
  explicit Reader(std::string_view in) : TokenReader(in, journal_magic()) {}
};

PathStat::Kind kind_of(mode_t m) {
  if (S_ISREG(m)) return PathStat::Kind::file;
  if (S_ISDIR(m)) return PathStat::Kind::dir;
  if (S_ISLNK(m)) return PathStat::Kind::link;
  return PathStat::Kind::other;
}

// Git's racy-clean rule (base/stat_cache.h), on what the path's stat says.
bool racy(const PathStat& st, int64_t started_ns) {
  if (st.kind == PathStat::Kind::absent) return false;
  return earth::racy(StatKey{st.dev, st.ino, st.size, st.mtime_ns, st.ctime_ns}, started_ns);
}

} // namespace

void RequestKey::field(std::string_view tag, char type, std::string_view value) {
  auto put_len = [&](uint64_t n) {
    for (int i = 0; i < 8; ++i) bytes_ += char((n >> (8 * i)) & 0xff); // little-endian
  };
  put_len(tag.size());
  bytes_ += tag;
  bytes_ += type;
  put_len(value.size());
  bytes_ += value;
}

RequestKey& RequestKey::add(std::string_view tag, std::string_view value) {
  field(tag, 's', value);
  return *this;
}

RequestKey& RequestKey::add(std::string_view tag, int64_t value) {
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = char((uint64_t(value) >> (8 * i)) & 0xff);
  field(tag, 'i', std::string_view(le, 8));
  return *this;
}

std::string RequestKey::name() const {
  std::string out;
  for (uint64_t h : {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull}) {
    for (unsigned char c : bytes_) h = (h ^ c) * 0x100000001b3ull;
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 60; i >= 0; i -= 4) out += hex[(h >> i) & 0xf];
  }
  return out;
}

PathStat PathStat::from(const struct stat& st) {
  PathStat p;
  p.kind = kind_of(st.st_mode);
  p.mode = uint32_t(st.st_mode);
  StatKey k = StatKey::of(st);
  p.dev = k.dev;
  p.ino = k.ino;
  p.size = k.size;
  p.mtime_ns = k.mtime_ns;
  p.ctime_ns = k.ctime_ns;
  return p;
}

std::optional<PathStat> PathStat::of(const std::string& path, bool follow) {
  struct stat st;
  int r = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (r == 0) return from(st);
  if (errno == ENOENT || errno == ENOTDIR) return PathStat{};
  return std::nullopt;
}

std::string Journal::encode() const {
  Writer w;
  w.put(key).num(written_at_ns).num(int64_t(paths.size()));
  for (const auto& p : paths) {
    const PathStat& s = p.st;
    w.put(p.path).num(p.follow ? 1 : 0).num(int64_t(s.kind)).num(s.mode);
    w.num(int64_t(s.dev)).num(int64_t(s.ino)).num(s.size).num(s.mtime_ns).num(s.ctime_ns);
  }
  w.num(int64_t(events.size()));
  for (const auto& e : events) {
    w.num(int64_t(e.kind)).put(e.step.target).num(e.ns);
    if (e.kind == JournalEvent::Kind::step_cached)
      w.put(e.step.where).put(e.step.text).put(e.step.file).num(e.step.line);
  }
  const auto& t = totals;
  w.num(t.targets).num(t.targets_cached).num(t.steps_cached).num(t.saved.count());
  w.num(int64_t(t.outputs.size()));
  for (const auto& o : t.outputs) w.num(int64_t(o.kind)).put(o.target).put(o.what);
  w.num(int64_t(t.notes.size()));
  for (const auto& n : t.notes) w.put(n);
  return w.take();
}

std::optional<Journal> Journal::decode(std::string_view bytes) {
  try {
    Reader r(bytes);
    Journal j;
    j.key = r.str();
    j.written_at_ns = r.num();
    for (size_t n = r.count(); n > 0; --n) {
      JournalPath p;
      p.path = r.str();
      p.follow = r.num() != 0;
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(PathStat::Kind::other)) return std::nullopt;
      p.st.kind = PathStat::Kind(kind);
      p.st.mode = uint32_t(r.num());
      p.st.dev = uint64_t(r.num());
      p.st.ino = uint64_t(r.num());
      p.st.size = r.num();
      p.st.mtime_ns = r.num();
      p.st.ctime_ns = r.num();
      j.paths.push_back(std::move(p));
    }
    for (size_t n = r.count(); n > 0; --n) {
      JournalEvent e;
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(JournalEvent::Kind::finished)) return std::nullopt;
      e.kind = JournalEvent::Kind(kind);
      e.step.target = r.str();
      e.ns = r.num();
      if (e.kind == JournalEvent::Kind::step_cached) {
        e.step.where = r.str();
        e.step.text = r.str();
        e.step.file = r.str();
        e.step.line = uint32_t(r.num());
      }
      j.events.push_back(std::move(e));
    }
    auto& t = j.totals;
    t.targets = uint32_t(r.num());
    t.targets_cached = uint32_t(r.num());
    t.steps_cached = uint32_t(r.num());
    t.saved = output::Duration{r.num()};
    for (size_t n = r.count(); n > 0; --n) {
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(output::OutputInfo::Kind::push)) return std::nullopt;
      output::OutputInfo o;
      o.kind = output::OutputInfo::Kind(kind);
      o.target = r.str();
      o.what = r.str();
      t.outputs.push_back(std::move(o));
    }
    for (size_t n = r.count(); n > 0; --n) t.notes.push_back(r.str());
    if (!r.done()) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// --- recording

void JournalRecorder::note(const std::string& path, bool follow, const PathStat& st) {
  std::lock_guard lock(mu_);
  if (!refused_.empty()) return; // nothing will be written
  auto [it, fresh] = paths_.try_emplace({path, follow}, st);
  if (!fresh && it->second != st && refused_.empty()) refused_ = path + " changed during the build";
}

void JournalRecorder::note_path(const std::string& path, bool follow) {
  {
    // Refused: nothing will be written. Already noted: the stat taken
    // before its first read stands (any later change makes the next check
    // miss), so a second look costs no stat.
    std::lock_guard lock(mu_);
    if (!refused_.empty() || paths_.contains({path, follow})) return;
  }
  auto st = PathStat::of(path, follow);
  if (!st) return refuse(path + " could not be checked");
  note(path, follow, *st);
}

void JournalRecorder::note_tree(const std::string& path) {
  if (!refused().empty()) return; // nothing will be written
  std::vector<std::string> todo{path};
  while (!todo.empty()) {
    std::string p = std::move(todo.back());
    todo.pop_back();
    auto st = PathStat::of(p, false);
    if (!st) return refuse(p + " could not be checked");
    note(p, false, *st);
    if (st->kind != PathStat::Kind::dir) continue;
    auto names = fs::list_dir(p);
    if (!names) return refuse(p + " could not be listed");
    for (const auto& n : *names) todo.push_back(p + "/" + n);
  }
}

// Stats the fast path need not repeat (each costs ~1 µs of a ~1 ms check):
// a path also noted without following links whose last component is no
// link (stat and lstat then agree), and an absent path whose directory is
// noted (creating an entry changes the directory's mtime). Called locked.
bool JournalRecorder::redundant(const std::string& path, bool follow, const PathStat& st) const {
  if (follow) {
    auto it = paths_.find({path, false});
    if (it != paths_.end() && it->second.kind != PathStat::Kind::link && it->second == st)
      return true;
  }
  if (st.kind != PathStat::Kind::absent || !path.starts_with("/")) return false;
  std::string dir = fs::dirname(path);
  for (bool f : {false, true})
    if (auto it = paths_.find({dir, f});
        it != paths_.end() && it->second.kind == PathStat::Kind::dir)
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

std::optional<Journal> JournalRecorder::finish(std::vector<JournalEvent> events,
                                               output::BuildTotals totals) {
  std::lock_guard lock(mu_);
  if (!refused_.empty()) return std::nullopt;
  Journal j;
  j.written_at_ns = started_ns_;
  for (const auto& [key, st] : paths_) {
    if (racy(st, started_ns_)) {
      refused_ = key.first + " changed too recently to be trusted (racy)";
      return std::nullopt;
    }
    if (!redundant(key.first, key.second, st)) j.paths.push_back({key.first, key.second, st});
  }
  j.events = std::move(events);
  j.totals = std::move(totals);
  j.totals.wall = {};
  j.totals.error.clear();
  return j;
}

// --- events

void EventRecorder::add(JournalEvent e) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(e));
}

void EventRecorder::target_queued(std::string_view target) {
  add({JournalEvent::Kind::queued, {std::string(target)}, 0});
  inner_.target_queued(target);
}
void EventRecorder::target_started(std::string_view target) {
  add({JournalEvent::Kind::started, {std::string(target)}, 0});
  inner_.target_started(target);
}
void EventRecorder::target_finished(std::string_view target, bool all_cached,
                                    output::Duration took) {
  if (!all_cached) j_.refuse(std::string(target) + " ran a step");
  add({JournalEvent::Kind::finished, {std::string(target)}, took.count()});
  inner_.target_finished(target, all_cached, took);
}
void EventRecorder::target_failed(std::string_view target) {
  j_.refuse("a target failed");
  inner_.target_failed(target);
}
void EventRecorder::step_started(const output::StepInfo& step) {
  j_.refuse(step.target + " ran a step");
  inner_.step_started(step);
}
void EventRecorder::step_cached(const output::StepInfo& step, output::Duration last_took) {
  add({JournalEvent::Kind::step_cached, step, last_took.count()});
  inner_.step_cached(step, last_took);
}
void EventRecorder::step_finished(const output::StepInfo& step, output::Duration took) {
  j_.refuse(step.target + " ran a step");
  inner_.step_finished(step, took);
}
void EventRecorder::step_failed(const output::StepInfo& step, const output::StepFailure& f) {
  j_.refuse(step.target + " failed");
  inner_.step_failed(step, f);
}
void EventRecorder::step_output(const output::StepInfo& step, std::string_view line) {
  j_.refuse(step.target + " printed output");
  inner_.step_output(step, line);
}
void EventRecorder::build_finished(const output::BuildTotals& totals) {
  if (!totals.success || totals.steps_run > 0 || totals.targets_failed > 0)
    j_.refuse("the build ran or failed a step");
  {
    std::lock_guard lock(mu_);
    totals_ = totals;
  }
  inner_.build_finished(totals);
}

std::vector<JournalEvent> EventRecorder::take_events() {
  std::lock_guard lock(mu_);
  return std::move(events_);
}

output::BuildTotals EventRecorder::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
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

// --- the fast path

bool journal_holds(const Journal& journal, std::string* why) {
  for (const auto& p : journal.paths) {
    auto st = PathStat::of(p.path, p.follow);
    if (!st || *st != p.st) {
      if (why) *why = p.path + " changed";
      return false;
    }
  }
  return true;
}

void replay_journal(const Journal& journal, output::Status& status, output::Duration wall) {
  for (const auto& e : journal.events) {
    switch (e.kind) {
    case JournalEvent::Kind::queued:
      status.target_queued(e.step.target);
      break;
    case JournalEvent::Kind::started:
      status.target_started(e.step.target);
      break;
    case JournalEvent::Kind::step_cached:
      status.step_cached(e.step, output::Duration{e.ns});
      break;
    case JournalEvent::Kind::finished:
      status.target_finished(e.step.target, true, output::Duration{e.ns});
      break;
    }
  }
  output::BuildTotals t = journal.totals;
  t.success = true;
  t.wall = wall;
  status.build_finished(t);
}

} // namespace earth::build
