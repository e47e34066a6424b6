// The request journal: its format, its events and its check
// (include/earth/build/journal.h, docs/formats.md#request-journals).
#include "earth/build/journal.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

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
// zero, u32 mode, u32 group, u64 dev, u64 ino, i64 size, i64 mtime_ns, i64
// ctime_ns — then the path and a NUL, so the fast path stats it in place
// without decoding anything.
constexpr size_t kPathHeader = 56;

template <typename T> T get_le(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return T(v);
}

template <typename T> void set_le(char* at, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) at[i] = char((uint64_t(v) >> (8 * i)) & 0xff);
}

std::string pack_paths(const std::vector<JournalPath>& paths) {
  size_t size = 0;
  for (const auto& p : paths) size += kPathHeader + p.path.size() + 1;
  std::string out(size, '\0');
  char* at = out.data();
  for (const auto& p : paths) {
    const PathStat& s = p.st;
    set_le<uint32_t>(at, uint32_t(p.path.size()));
    set_le<uint8_t>(at + 4, p.follow ? 1 : 0);
    set_le<uint8_t>(at + 5, uint8_t(s.kind));
    set_le<uint32_t>(at + 8, s.mode);
    set_le<uint32_t>(at + 12, p.group);
    set_le<uint64_t>(at + 16, s.dev);
    set_le<uint64_t>(at + 24, s.ino);
    set_le<int64_t>(at + 32, s.size);
    set_le<int64_t>(at + 40, s.mtime_ns);
    set_le<int64_t>(at + 48, s.ctime_ns);
    std::memcpy(at + kPathHeader, p.path.data(), p.path.size());
    at += kPathHeader + p.path.size() + 1; // the NUL is there already
  }
  return out;
}

// Walks the packed table, calling `f(path, length, follow, stat, group)`
// (path NUL-terminated in place) until it returns false. False when the
// table is malformed.
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
    if (!f(p + kPathHeader, size_t(len), p[4] != 0, st, get_le<uint32_t>(p + 12))) return true;
    p += kPathHeader + len + 1;
  }
  return p == end;
}

} // namespace

void Pieces::append(std::string_view v) {
  if (v.empty()) return;
  if (!views.empty() && views.back().data() + views.back().size() == v.data())
    views.back() = std::string_view(views.back().data(), views.back().size() + v.size());
  else
    views.push_back(v);
}

size_t Pieces::size() const {
  size_t n = 0;
  for (auto v : views) n += v.size();
  return n;
}

std::string Pieces::joined() const {
  std::string out;
  out.reserve(size());
  for (auto v : views) out += v;
  return out;
}

std::optional<size_t>
copy_paths(PackedPaths from, Pieces& out,
           const std::function<bool(std::string_view path, bool follow, uint32_t group)>& keep) {
  size_t kept = 0;
  bool whole =
      walk_paths(from.table, from.count,
                 [&](const char* path, size_t len, bool follow, const PathStat&, uint32_t group) {
                   if (keep(std::string_view(path, len), follow, group)) {
                     out.append(std::string_view(path - kPathHeader, kPathHeader + len + 1));
                     ++kept;
                   }
                   return true;
                 });
  if (!whole) return std::nullopt;
  return kept;
}

namespace {

// An events section's events from `events` (every one with `steps`, else
// only the targets'), without their count; how many.
std::pair<std::string, size_t> encode_events(const std::vector<JournalEvent>& events, bool steps) {
  TokenWriter w("");
  size_t n = 0;
  for (const auto& e : events) {
    if (!steps && e.kind == JournalEvent::Kind::step_cached) continue;
    w.num(int64_t(e.kind)).put(e.step.target).num(e.ns);
    if (e.kind == JournalEvent::Kind::step_cached)
      w.put(e.step.where).put(e.step.text).put(e.step.file).num(e.step.line);
    ++n;
  }
  return {w.take().substr(1), n}; // without the empty magic's newline
}

// One event of an events section, as views into its bytes [begin, end).
struct EventView {
  JournalEvent::Kind kind;
  std::string_view target;
  int64_t ns = 0;
  std::string_view where, text, file; // a step's
  int64_t line = 0;
  size_t begin = 0, end = 0;
  JournalEvent event() const {
    return {kind,
            {std::string(target), std::string(where), std::string(text), std::string(file),
             uint32_t(line)},
            ns};
  }
};

// The event at `r`'s position. Throws TokenError when malformed.
EventView read_event(TokenReader& r) {
  EventView e;
  e.begin = r.pos();
  int64_t kind = r.num();
  if (kind < 0 || kind > int64_t(JournalEvent::Kind::finished)) throw TokenError("bad kind");
  e.kind = JournalEvent::Kind(kind);
  e.target = r.get();
  e.ns = r.num();
  if (e.kind == JournalEvent::Kind::step_cached) {
    e.where = r.get();
    e.text = r.get();
    e.file = r.get();
    e.line = r.num();
  }
  e.end = r.pos();
  return e;
}

// Walks an events section (its count, then its events), calling `f(view)`
// per event. Throws TokenError when malformed.
template <typename F> void walk_events(std::string_view section, F&& f) {
  TokenReader r(section, "");
  for (size_t n = r.count(); n > 0; --n) f(read_event(r));
  if (!r.done()) throw TokenError("trailing bytes");
}

// Walks events one after another, with no count before them (a run a
// partial build kept); how many. Throws TokenError when malformed.
template <typename F> size_t walk_run(std::string_view run, F&& f) {
  TokenReader r = TokenReader::bare(run);
  size_t n = 0;
  for (; !r.done(); ++n) f(read_event(r));
  return n;
}

std::optional<std::vector<JournalEvent>> decode_events(std::string_view bytes) {
  std::vector<JournalEvent> events;
  try {
    walk_events(bytes, [&](const EventView& e) { events.push_back(e.event()); });
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return events;
}

std::string_view target_of(const JournalEvent& e) {
  return e.step.target;
}
std::string_view target_of(const EventView& e) {
  return e.target;
}
const output::StepInfo& step_of(const JournalEvent& e) {
  return e.step;
}
output::StepInfo step_of(const EventView& e) {
  return e.event().step;
}

// One event (a JournalEvent or an EventView) as a no-op shows it.
template <typename E> void show_event(const E& e, output::Status& status) {
  switch (e.kind) {
  case JournalEvent::Kind::queued:
    status.target_queued(target_of(e));
    break;
  case JournalEvent::Kind::started:
    status.target_started(target_of(e));
    break;
  case JournalEvent::Kind::step_cached:
    status.step_cached(step_of(e), output::Duration{e.ns});
    break;
  case JournalEvent::Kind::finished:
    status.target_finished(target_of(e), true, output::Duration{e.ns});
    break;
  }
}

// Shows on `status` the events `walk(each)` hands to `each`, once they all
// proved whole: the targets' events from views into the bytes (no string
// is made), the steps' decoded. False, having shown nothing, when `walk`
// throws (malformed).
template <typename Walk> bool show_whole(Walk&& walk, output::Status& status) {
  std::vector<EventView> events;
  try {
    walk([&](const EventView& e) { events.push_back(e); });
  } catch (const std::exception&) {
    return false;
  }
  for (const auto& e : events) show_event(e, status);
  return true;
}

// An events section (its count, then its events).
bool show_section(std::string_view section, output::Status& status) {
  return show_whole([&](auto&& each) { walk_events(section, each); }, status);
}

// `count` events kept in pieces (JournalPart).
bool show_pieces(const Pieces& events, size_t count, output::Status& status) {
  return show_whole(
      [&](auto&& each) {
        size_t n = 0;
        for (auto run : events.views) n += walk_run(run, each);
        if (n != count) throw TokenError("event count");
      },
      status);
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

std::string_view digest_bytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.bytes().data()), Digest::size};
}

Digest read_digest(TokenReader& r) {
  std::string_view v = r.get();
  if (v.size() != Digest::size) throw TokenError("bad digest");
  std::array<uint8_t, Digest::size> b;
  std::copy(v.begin(), v.end(), b.begin());
  return Digest(b);
}

std::string encode_targets(const std::vector<JournalTarget>& targets) {
  TokenWriter w("");
  w.num(int64_t(targets.size()));
  for (const auto& t : targets) {
    w.put(digest_bytes(t.key)).put(t.name).put(t.canonical).put(t.platform);
    w.num(int64_t(t.given.size()));
    for (const auto& a : t.given) w.put(a.name).put(a.value).num(a.dynamic ? 1 : 0);
    w.num(t.output ? 1 : 0).put(t.context).num(int64_t(t.reads.size()));
    for (const auto& d : t.reads) w.put(digest_bytes(d));
  }
  return w.take();
}

std::vector<JournalTarget> decode_targets(std::string_view bytes) {
  TokenReader r(bytes, "");
  std::vector<JournalTarget> targets(r.count());
  for (auto& t : targets) {
    t.key = read_digest(r);
    t.name = r.str();
    t.canonical = r.str();
    t.platform = r.str();
    t.given.resize(r.count());
    for (auto& a : t.given) {
      a.name = r.str();
      a.value = r.str();
      a.dynamic = r.num() != 0;
    }
    t.output = r.num() != 0;
    t.context = r.str();
    t.reads.resize(r.count());
    for (auto& d : t.reads) d = read_digest(r);
  }
  if (!r.done()) throw TokenError("trailing bytes");
  return targets;
}

std::string encode_groups(const std::vector<std::vector<uint32_t>>& groups) {
  TokenWriter w("");
  w.num(int64_t(groups.size()));
  for (const auto& g : groups) {
    w.num(int64_t(g.size()));
    for (uint32_t i : g) w.num(i);
  }
  return w.take();
}

// Every index must name one of `targets` targets.
std::vector<std::vector<uint32_t>> decode_groups(std::string_view bytes, size_t targets) {
  TokenReader r(bytes, "");
  std::vector<std::vector<uint32_t>> groups(r.count());
  for (auto& g : groups) {
    g.resize(r.count());
    for (auto& i : g) {
      int64_t v = r.num();
      if (v < 0 || size_t(v) >= targets) throw TokenError("bad target index");
      i = uint32_t(v);
    }
  }
  if (!r.done()) throw TokenError("trailing bytes");
  return groups;
}

} // namespace

// The parts carried from a previous journal (megabytes for a thousand
// targets) as views, between the bytes this build added.
JournalBytes Journal::encode_pieces() const {
  std::string packed = pack_paths(paths);
  auto [target_events, target_count] = encode_events(events, false);
  auto [step_events, step_count] = encode_events(events, true);
  // Each section's start: the newline of its empty magic, its count.
  std::string head[2] = {TokenWriter("").num(int64_t(carried.target_events + target_count)).take(),
                         TokenWriter("").num(int64_t(carried.step_events + step_count)).take()};
  JournalBytes out;
  Writer w;
  auto own = [&](std::string bytes) { out.pieces.append(out.own.emplace_back(std::move(bytes))); };
  auto carry = [&](const Pieces& bytes) { // after what w holds
    own(w.take());
    for (auto v : bytes.views) out.pieces.append(v);
  };
  auto token = [&](std::string bytes) { // a large one of this build's: moved, not copied
    w.head(bytes.size());
    own(w.take());
    own(std::move(bytes));
  };
  w.put(key).num(written_at_ns).num(int64_t(paths.size() + carried.path_count));
  w.head(packed.size() + carried.paths.size());
  own(w.take());
  own(std::move(packed));
  carry(carried.paths);
  w.head(head[0].size() + carried.targets.size() + target_events.size()).raw(head[0]);
  carry(carried.targets);
  own(std::move(target_events));
  w.head(head[1].size() + carried.steps.size() + step_events.size()).raw(head[1]);
  carry(carried.steps);
  own(std::move(step_events));
  token(encode_totals(totals));
  token(encode_targets(targets));
  token(encode_groups(groups));
  return out;
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
    v.jtargets_ = r.get();
    v.groups_ = r.get();
    if (!r.done()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string what_changed(const PathStat& was, const std::optional<PathStat>& now) {
  using Kind = PathStat::Kind;
  if (!now) return "unreadable";
  if (was == PathStat::untrusted()) return "not trusted: written as the build read it";
  if (was.kind == Kind::absent) return "added";
  if (now->kind == Kind::absent) return "removed";
  std::vector<std::string_view> fields;
  auto differs = [&](bool d, std::string_view name) {
    if (d) fields.push_back(name);
  };
  differs(was.kind != now->kind, "type");
  differs(was.mode != now->mode, "mode");
  differs(was.dev != now->dev, "device");
  differs(was.ino != now->ino, "inode");
  differs(was.size != now->size, "size");
  differs(was.mtime_ns != now->mtime_ns, "mtime");
  differs(was.ctime_ns != now->ctime_ns, "ctime");
  std::string out;
  for (auto f : fields) out += (out.empty() ? "" : ", ") + std::string(f);
  return out;
}

bool JournalView::holds(std::string* why) const {
  JournalCheck c = check();
  if (why) *why = c.why;
  return c.holds;
}

namespace {

// The table cut into at most `n` runs of about equal count, at record
// boundaries read from the headers alone (each run is walked, and so
// checked, on its own); nullopt when a header points past the end.
std::optional<std::vector<PackedPaths>> cut_paths(PackedPaths all, size_t n) {
  n = std::clamp<size_t>(n, 1, std::max<size_t>(all.count, 1));
  std::vector<PackedPaths> runs;
  const char* p = all.table.data();
  const char* end = p + all.table.size();
  const char* start = p;
  size_t first = 0; // the current run's first record
  for (size_t i = 0; i + 1 < all.count && runs.size() + 1 < n; ++i) {
    if (size_t(end - p) < kPathHeader) return std::nullopt;
    size_t len = get_le<uint32_t>(p);
    if (size_t(end - p) - kPathHeader < len + 1) return std::nullopt;
    p += kPathHeader + len + 1;
    if (i + 1 == all.count * (runs.size() + 1) / n) {
      runs.push_back({std::string_view(start, size_t(p - start)), i + 1 - first});
      start = p;
      first = i + 1;
    }
  }
  runs.push_back({std::string_view(start, size_t(end - start)), all.count - first});
  return runs;
}

// A table that does not decode: the full path.
JournalCheck malformed() {
  JournalCheck c;
  c.why = "malformed";
  c.request_changed = true;
  return c;
}

// One run's check; `stop` is raised by (and stops) every run at a changed
// request path, after which the other changes do not matter.
JournalCheck check_run(PackedPaths run, std::atomic<bool>& stop) {
  JournalCheck c;
  bool ok = walk_paths(
      run.table, run.count,
      [&](const char* path, size_t len, bool follow, const PathStat& want, uint32_t group) {
        if (stop.load(std::memory_order_relaxed)) return false;
        auto st = PathStat::of(path, follow); // NUL-terminated in place
        if (st && *st == want) return true;
        ++c.changed;
        if (c.why.empty() || group == 0) {
          c.why = std::string(path, len) + " changed";
          c.what = what_changed(want, st);
        }
        c.groups.push_back(group);
        if (group != 0) return true;
        c.request_changed = true;
        stop.store(true, std::memory_order_relaxed);
        return false;
      });
  if (!ok) {
    stop.store(true, std::memory_order_relaxed);
    return malformed();
  }
  return c;
}

// The runs' findings as one: the first request change's reason, else the
// first change's in table order.
JournalCheck merge_checks(std::vector<JournalCheck>& runs) {
  JournalCheck c;
  for (auto& r : runs) {
    bool first = c.why.empty() || (r.request_changed && !c.request_changed);
    if (first && !r.why.empty()) {
      c.why = std::move(r.why);
      c.what = std::move(r.what);
    }
    c.changed += r.changed;
    c.request_changed = c.request_changed || r.request_changed;
    c.groups.insert(c.groups.end(), r.groups.begin(), r.groups.end());
  }
  std::sort(c.groups.begin(), c.groups.end());
  c.groups.erase(std::unique(c.groups.begin(), c.groups.end()), c.groups.end());
  c.holds = c.groups.empty() && !c.request_changed;
  return c;
}

} // namespace

size_t JournalView::check_threads() const {
  // A run of fewer paths would spend on its thread's start (~50 µs) much of
  // what it saves (~1.3 µs a path here). A small table asks nothing more:
  // the cores are read from /sys.
  constexpr size_t kPathsPerThread = 256;
  size_t wanted = path_count_ / kPathsPerThread;
  if (wanted <= 1) return 1;
  return std::min<size_t>({wanted, std::max(1u, std::thread::hardware_concurrency()), 8});
}

JournalCheck JournalView::check(size_t threads) const {
  auto runs = cut_paths(packed_paths(), threads ? threads : check_threads());
  if (!runs) return malformed();
  std::atomic<bool> stop{false};
  std::vector<JournalCheck> found(runs->size());
  {
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < runs->size(); ++i) {
      auto run = [&, i] { found[i] = check_run((*runs)[i], stop); };
      try {
        helpers.emplace_back(run);
      } catch (const std::system_error&) { // no thread to be had: here, then
        run();
      }
    }
    found[0] = check_run((*runs)[0], stop);
  } // joined
  return merge_checks(found);
}

std::optional<std::vector<JournalPath>> JournalView::paths() const {
  std::vector<JournalPath> out;
  bool ok = walk_paths(
      paths_, path_count_,
      [&](const char* path, size_t len, bool follow, const PathStat& st, uint32_t group) {
        out.push_back({std::string(path, len), follow, st, group});
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
  if (!totals || !show_section(steps ? steps_ : targets_, status)) return false;
  replay_journal({}, std::move(*totals), status, wall);
  return true;
}

// The events of `section` whose target is not one of `names`, as bytes
// (each run of kept events copied at once) and their count; `each` sees
// them.
template <typename F>
size_t kept_events(std::string_view section, const std::set<std::string, std::less<>>& names,
                   Pieces& out, F&& each) {
  size_t count = 0, run = std::string_view::npos, run_end = 0;
  auto flush = [&] {
    if (run != std::string_view::npos) out.append(section.substr(run, run_end - run));
    run = std::string_view::npos;
  };
  walk_events(section, [&](const EventView& e) {
    if (names.contains(e.target)) return flush();
    if (run == std::string_view::npos) run = e.begin;
    run_end = e.end;
    ++count;
    each(e);
  });
  flush();
  return count;
}

std::optional<JournalPart>
JournalView::part(const std::set<std::string, std::less<>>& names) const {
  auto totals = decode_totals(totals_);
  if (!totals) return std::nullopt;
  JournalPart part;
  auto& t = part.totals;
  try {
    part.target_events = kept_events(targets_, names, part.targets, [&](const EventView& e) {
      if (e.kind == JournalEvent::Kind::finished) ++t.targets, ++t.targets_cached;
    });
    part.step_events = kept_events(steps_, names, part.steps, [&](const EventView& e) {
      if (e.kind != JournalEvent::Kind::step_cached) return;
      ++t.steps_cached;
      t.saved += output::Duration{e.ns};
    });
  } catch (const std::exception&) {
    return std::nullopt;
  }
  for (auto& o : totals->outputs)
    if (!names.contains(o.target)) t.outputs.push_back(std::move(o));
  return part;
}

std::optional<Journal> Journal::decode(std::string_view bytes, Sections sections) {
  auto v = JournalView::parse(bytes);
  if (!v) return std::nullopt;
  bool all = sections == Sections::all;
  auto paths = all ? v->paths() : std::vector<JournalPath>{};
  auto events = all ? v->events(true) : std::vector<JournalEvent>{};
  auto totals = v->totals();
  if (!paths || !events || !totals) return std::nullopt;
  Journal j;
  j.key = v->key();
  j.written_at_ns = v->written_at_ns();
  j.paths = std::move(*paths);
  j.events = std::move(*events);
  j.totals = std::move(*totals);
  try {
    j.targets = decode_targets(v->jtargets_);
    j.groups = decode_groups(v->groups_, j.targets.size());
  } catch (const std::exception&) {
    return std::nullopt;
  }
  for (const auto& p : j.paths)
    if (p.group > j.groups.size()) return std::nullopt;
  return j;
}

std::optional<std::vector<uint32_t>> Journal::reached(const std::vector<uint32_t>& changed) const {
  std::map<Digest, std::vector<uint32_t>> readers; // instance key → who reads it
  for (uint32_t i = 0; i < targets.size(); ++i)
    for (const auto& d : targets[i].reads) readers[d].push_back(i);
  std::vector<bool> seen(targets.size(), false);
  std::vector<uint32_t> todo;
  for (uint32_t g : changed) {
    if (g == 0 || g > groups.size()) return std::nullopt;
    todo.insert(todo.end(), groups[g - 1].begin(), groups[g - 1].end());
  }
  std::vector<uint32_t> out;
  while (!todo.empty()) {
    uint32_t i = todo.back();
    todo.pop_back();
    if (seen[i]) continue;
    seen[i] = true;
    out.push_back(i);
    if (auto it = readers.find(targets[i].key); it != readers.end())
      todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- events

namespace {

JournalEvent target_event(JournalEvent::Kind kind, std::string_view target, int64_t ns) {
  JournalEvent e;
  e.kind = kind;
  e.step.target = target;
  e.ns = ns;
  return e;
}

} // namespace

void EventRecorder::add(JournalEvent e) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(e));
}

void EventRecorder::target_queued(std::string_view target) {
  add(target_event(JournalEvent::Kind::queued, target, 0));
  inner_.target_queued(target);
}
void EventRecorder::target_started(std::string_view target) {
  add(target_event(JournalEvent::Kind::started, target, 0));
  inner_.target_started(target);
}
void EventRecorder::target_finished(std::string_view target, bool all_cached,
                                    output::Duration took) {
  // A target that ran is reused in no time by the next build.
  add(target_event(JournalEvent::Kind::finished, target, all_cached ? took.count() : 0));
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
void EventRecorder::build_finished(const output::BuildTotals& build) {
  if (!build.success || build.targets_failed > 0) j_.refuse("the build failed");
  output::BuildTotals totals = build;
  if (carried_) {
    const auto& k = carried_->totals;
    totals.targets += k.targets;
    totals.targets_cached += k.targets_cached;
    totals.steps_cached += k.steps_cached;
    totals.saved += k.saved;
    totals.outputs.insert(totals.outputs.begin(), k.outputs.begin(), k.outputs.end());
  }
  {
    std::lock_guard lock(mu_);
    totals_ = totals;
  }
  inner_.build_finished(totals);
}

bool EventRecorder::carry(JournalPart kept, bool steps) {
  // As a replay shows them: the targets' events, every step's with -V.
  if (!show_pieces(steps ? kept.steps : kept.targets, steps ? kept.step_events : kept.target_events,
                   inner_))
    return false;
  std::lock_guard lock(mu_);
  carried_ = std::move(kept);
  return true;
}

JournalPart EventRecorder::take_carried() {
  std::lock_guard lock(mu_);
  JournalPart out = carried_ ? std::move(*carried_) : JournalPart{};
  carried_.reset();
  return out;
}

std::vector<JournalEvent> EventRecorder::take_events() {
  std::lock_guard lock(mu_);
  return std::move(events_);
}

output::BuildTotals EventRecorder::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

// --- the fast path

void replay_journal(const std::vector<JournalEvent>& events, output::BuildTotals totals,
                    output::Status& status, output::Duration wall) {
  for (const auto& e : events) show_event(e, status);
  totals.success = true;
  totals.wall = wall;
  status.build_finished(totals);
}

} // namespace earth::build
