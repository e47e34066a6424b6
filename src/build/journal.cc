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

std::optional<PathStat> PathStat::of(const char* path, bool follow) {
  struct stat st;
  int r = follow ? ::stat(path, &st) : ::lstat(path, &st);
  if (r == 0) return from(st);
  if (errno == ENOENT || errno == ENOTDIR) return PathStat{};
  return std::nullopt;
}

namespace {

// The paths' packed table (docs/formats.md#request-journals): per path a
// 56-byte header, little-endian — u32 path length, u8 follow, u8 kind, u16
// zero, u32 mode, u32 zero, u64 dev, u64 ino, i64 size, i64 mtime_ns, i64
// ctime_ns — then the path and a NUL, so the fast path stats it in place
// without decoding anything.
constexpr size_t kPathHeader = 56;

template <typename T> void put_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out += char((uint64_t(v) >> (8 * i)) & 0xff);
}

template <typename T> T get_le(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return T(v);
}

std::string pack_paths(const std::vector<JournalPath>& paths) {
  std::string out;
  for (const auto& p : paths) {
    const PathStat& s = p.st;
    put_le<uint32_t>(out, uint32_t(p.path.size()));
    put_le<uint8_t>(out, p.follow ? 1 : 0);
    put_le<uint8_t>(out, uint8_t(s.kind));
    put_le<uint16_t>(out, 0);
    put_le<uint32_t>(out, s.mode);
    put_le<uint32_t>(out, 0);
    put_le<uint64_t>(out, s.dev);
    put_le<uint64_t>(out, s.ino);
    put_le<int64_t>(out, s.size);
    put_le<int64_t>(out, s.mtime_ns);
    put_le<int64_t>(out, s.ctime_ns);
    out += p.path;
    out += '\0';
  }
  return out;
}

// Walks the packed table, calling `f(path, follow, stat)` (path
// NUL-terminated in place) until it returns false. False when the table is
// malformed.
template <typename F> bool walk_paths(std::string_view table, size_t count, F&& f) {
  const char* p = table.data();
  const char* end = p + table.size();
  for (size_t i = 0; i < count; ++i) {
    if (size_t(end - p) < kPathHeader) return false;
    uint32_t len = get_le<uint32_t>(p); // never 0: zeroed blocks do not parse
    if (len == 0 || size_t(end - p) - kPathHeader < size_t(len) + 1 || p[kPathHeader + len] != '\0')
      return false;
    uint8_t kind = get_le<uint8_t>(p + 5);
    if (kind > uint8_t(PathStat::Kind::other)) return false;
    PathStat st;
    st.kind = PathStat::Kind(kind);
    st.mode = get_le<uint32_t>(p + 8);
    st.dev = get_le<uint64_t>(p + 16);
    st.ino = get_le<uint64_t>(p + 24);
    st.size = get_le<int64_t>(p + 32);
    st.mtime_ns = get_le<int64_t>(p + 40);
    st.ctime_ns = get_le<int64_t>(p + 48);
    if (!f(p + kPathHeader, size_t(len), p[4] != 0, st)) return true;
    p += kPathHeader + len + 1;
  }
  return p == end;
}

std::string encode_events(const std::vector<JournalEvent>& events, bool steps) {
  TokenWriter w("");
  size_t n = 0;
  for (const auto& e : events) n += steps || e.kind != JournalEvent::Kind::step_cached;
  w.num(int64_t(n));
  for (const auto& e : events) {
    if (!steps && e.kind == JournalEvent::Kind::step_cached) continue;
    w.num(int64_t(e.kind)).put(e.step.target).num(e.ns);
    if (e.kind == JournalEvent::Kind::step_cached)
      w.put(e.step.where).put(e.step.text).put(e.step.file).num(e.step.line);
  }
  return w.take();
}

std::optional<std::vector<JournalEvent>> decode_events(std::string_view bytes) {
  try {
    TokenReader r(bytes, "");
    std::vector<JournalEvent> events(r.count());
    for (auto& e : events) {
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(JournalEvent::Kind::finished)) return std::nullopt;
      e.kind = JournalEvent::Kind(kind);
      e.step.target = r.get();
      e.ns = r.num();
      if (e.kind == JournalEvent::Kind::step_cached) {
        e.step.where = r.get();
        e.step.text = r.get();
        e.step.file = r.get();
        e.step.line = uint32_t(r.num());
      }
    }
    if (!r.done()) return std::nullopt;
    return events;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string encode_totals(const output::BuildTotals& t) {
  TokenWriter w("");
  w.num(t.targets).num(t.targets_cached).num(t.steps_cached).num(t.saved.count());
  w.num(int64_t(t.outputs.size()));
  for (const auto& o : t.outputs) w.num(int64_t(o.kind)).put(o.target).put(o.what);
  w.num(int64_t(t.notes.size()));
  for (const auto& n : t.notes) w.put(n);
  return w.take();
}

std::optional<output::BuildTotals> decode_totals(std::string_view bytes) {
  try {
    TokenReader r(bytes, "");
    output::BuildTotals t;
    t.targets = uint32_t(r.num());
    t.targets_cached = uint32_t(r.num());
    t.steps_cached = uint32_t(r.num());
    t.saved = output::Duration{r.num()};
    t.outputs.resize(r.count());
    for (auto& o : t.outputs) {
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(output::OutputInfo::Kind::push)) return std::nullopt;
      o.kind = output::OutputInfo::Kind(kind);
      o.target = r.get();
      o.what = r.get();
    }
    for (size_t n = r.count(); n > 0; --n) t.notes.push_back(r.str());
    if (!r.done()) return std::nullopt;
    return t;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

std::string Journal::encode() const {
  Writer w;
  w.put(key).num(written_at_ns).num(int64_t(paths.size())).put(pack_paths(paths));
  w.put(encode_events(events, false)).put(encode_events(events, true));
  w.put(encode_totals(totals));
  return w.take();
}

std::optional<JournalView> JournalView::parse(std::string_view bytes) {
  try {
    Reader r(bytes);
    JournalView v;
    v.key_ = r.get();
    v.written_at_ns_ = r.num();
    v.path_count_ = r.count();
    v.paths_ = r.get();
    v.targets_ = r.get();
    v.steps_ = r.get();
    v.totals_ = r.get();
    if (!r.done()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool JournalView::holds(std::string* why) const {
  bool same = true;
  bool ok = walk_paths(paths_, path_count_,
                       [&](const char* path, size_t len, bool follow, const PathStat& want) {
                         auto st = PathStat::of(path, follow); // NUL-terminated in place
                         same = st && *st == want;
                         if (!same && why) *why = std::string(path, len) + " changed";
                         return same;
                       });
  if (!ok && why) *why = "malformed";
  return ok && same;
}

std::optional<std::vector<JournalPath>> JournalView::paths() const {
  std::vector<JournalPath> out;
  bool ok = walk_paths(paths_, path_count_,
                       [&](const char* path, size_t len, bool follow, const PathStat& st) {
                         out.push_back({std::string(path, len), follow, st});
                         return true;
                       });
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<JournalEvent>> JournalView::events(bool steps) const {
  return decode_events(steps ? steps_ : targets_);
}

std::optional<output::BuildTotals> JournalView::totals() const {
  return decode_totals(totals_);
}

bool JournalView::replay(bool steps, output::Status& status, output::Duration wall) const {
  auto totals = decode_totals(totals_);
  if (!totals) return false;
  if (steps) { // -V: every step's line, decoded whole
    auto events = decode_events(steps_);
    if (!events) return false;
    replay_journal(*events, std::move(*totals), status, wall);
    return true;
  }
  // The targets' events name only a target: kept as views into the bytes
  // (no string is made), shown once the section proved whole.
  struct Shown {
    JournalEvent::Kind kind;
    std::string_view target;
    output::Duration ns;
  };
  std::vector<Shown> shown;
  try {
    TokenReader r(targets_, "");
    shown.resize(r.count());
    for (auto& e : shown) {
      int64_t kind = r.num();
      if (kind < 0 || kind > int64_t(JournalEvent::Kind::finished) ||
          kind == int64_t(JournalEvent::Kind::step_cached))
        return false;
      e = {JournalEvent::Kind(kind), r.get(), output::Duration{r.num()}};
    }
    if (!r.done()) return false;
  } catch (const std::exception&) {
    return false;
  }
  for (const auto& e : shown) {
    if (e.kind == JournalEvent::Kind::queued)
      status.target_queued(e.target);
    else if (e.kind == JournalEvent::Kind::started)
      status.target_started(e.target);
    else
      status.target_finished(e.target, true, e.ns);
  }
  replay_journal({}, std::move(*totals), status, wall);
  return true;
}

std::optional<Journal> Journal::decode(std::string_view bytes) {
  auto v = JournalView::parse(bytes);
  if (!v) return std::nullopt;
  auto paths = v->paths();
  auto events = v->events(true);
  auto totals = v->totals();
  if (!paths || !events || !totals) return std::nullopt;
  Journal j;
  j.key = v->key();
  j.written_at_ns = v->written_at_ns();
  j.paths = std::move(*paths);
  j.events = std::move(*events);
  j.totals = std::move(*totals);
  return j;
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

void JournalRecorder::note_output(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    outputs_.insert(path);
  }
  note_tree(path);
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
    if (racy(st, started_ns_) && !from_output(key.first)) {
      refused_ = key.first + " changed too recently to be trusted (racy)";
      return std::nullopt;
    }
    if (!redundant(key.first, key.second, st)) j.paths.push_back({key.first, key.second, st});
  }
  // What the build changed itself (a directory an output was written into)
  // would make the journal miss: not worth writing.
  std::string why;
  if (!journal_holds(j.paths, &why)) {
    refused_ = why + " during the build";
    return std::nullopt;
  }
  // A no-op of this build: every target cached, every step a hit saving
  // what it cost when it ran.
  j.events = std::move(events);
  j.totals = std::move(totals);
  auto& t = j.totals;
  t.targets_cached = t.targets;
  t.targets_failed = 0;
  t.steps_run = 0;
  t.steps_cached = 0;
  t.saved = {};
  for (const auto& e : j.events)
    if (e.kind == JournalEvent::Kind::step_cached) {
      ++t.steps_cached;
      t.saved += output::Duration{e.ns};
    }
  t.wall = {};
  t.error.clear();
  return j;
}

// An output's tree (called locked).
bool JournalRecorder::from_output(const std::string& path) const {
  for (const auto& o : outputs_)
    if (path == o || (path.size() > o.size() && path.starts_with(o) && path[o.size()] == '/'))
      return true;
  return false;
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
  // A target that ran is reused in no time by the next build.
  add({JournalEvent::Kind::finished, {std::string(target)}, all_cached ? took.count() : 0});
  inner_.target_finished(target, all_cached, took);
}
void EventRecorder::target_failed(std::string_view target) {
  j_.refuse("a target failed");
  inner_.target_failed(target);
}
void EventRecorder::step_started(const output::StepInfo& step) {
  inner_.step_started(step);
}
void EventRecorder::step_cached(const output::StepInfo& step, output::Duration last_took) {
  add({JournalEvent::Kind::step_cached, step, last_took.count()});
  inner_.step_cached(step, last_took);
}
// The next build shows it cached, saving what it took now.
void EventRecorder::step_finished(const output::StepInfo& step, output::Duration took) {
  add({JournalEvent::Kind::step_cached, step, took.count()});
  inner_.step_finished(step, took);
}
void EventRecorder::step_failed(const output::StepInfo& step, const output::StepFailure& f) {
  j_.refuse(step.target + " failed");
  inner_.step_failed(step, f);
}
void EventRecorder::step_output(const output::StepInfo& step, std::string_view line) {
  inner_.step_output(step, line);
}
void EventRecorder::build_finished(const output::BuildTotals& totals) {
  if (!totals.success || totals.targets_failed > 0) j_.refuse("the build failed");
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

bool journal_holds(const std::vector<JournalPath>& paths, std::string* why) {
  for (const auto& p : paths) {
    auto st = PathStat::of(p.path, p.follow);
    if (!st || *st != p.st) {
      if (why) *why = p.path + " changed";
      return false;
    }
  }
  return true;
}

void replay_journal(const std::vector<JournalEvent>& events, output::BuildTotals totals,
                    output::Status& status, output::Duration wall) {
  for (const auto& e : events) {
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
  totals.success = true;
  totals.wall = wall;
  status.build_finished(totals);
}

} // namespace earth::build
