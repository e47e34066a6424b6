// The request journal (issue 9, after ninja's trust in stat): after a
// successful build whose every target the next build would reuse whole
// (reused, or run and recorded), the exact set of paths the result depended
// on, each with its stat identity, and the events a no-op of it shows. The
// next identical request (same binary, directory, flags, build args,
// environment) checks those stats and, when every one is unchanged, shows
// those events without parsing, resolving or keying anything. Format and rules:
// docs/formats.md#request-journals, docs/cache.md#the-request-journal.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/disk.h"
#include "earth/output/status.h"
#include "earth/store/image_index.h"

namespace earth::build {

inline constexpr std::string_view kJournalMagic = "earth-journal";
inline constexpr int64_t kJournalVersion = 3;

// What lstat (or stat, following links) says of a path: its identity, or
// that it is absent.
struct PathStat {
  enum class Kind : uint8_t { absent = 0, file, dir, link, other };
  Kind kind = Kind::absent;
  uint32_t mode = 0;
  uint64_t dev = 0, ino = 0;
  int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  // nullopt: neither present nor certainly absent (EACCES, ELOOP…).
  static std::optional<PathStat> of(const char* path, bool follow);
  static std::optional<PathStat> of(const std::string& path, bool follow) {
    return of(path.c_str(), follow);
  }
  static PathStat from(const struct stat& st);
  // The identity a path that changed while the build read it (racy) is
  // journaled with: no stat returns it, so the next check finds it changed.
  static PathStat untrusted() { return {Kind::other, 0, 0, 0, -1, -1, -1}; }
  friend bool operator==(const PathStat&, const PathStat&) = default;
};

struct JournalPath {
  std::string path;
  bool follow = false; // stat (through links) rather than lstat
  PathStat st;
  // Whose input it is: 0, the request's (the resolver read it, or the
  // request itself): a change takes the full path; g > 0, the targets of
  // Journal::groups[g - 1]: a change rebuilds only them (a partial build).
  uint32_t group = 0;
};

// Whom a recorded path belongs to, as the full path notes it.
struct PathOwner {
  enum class Kind : uint8_t { request = 0, context, output };
  Kind kind = Kind::request;
  std::string dir; // context: the context dir, absolute
  Digest target;   // output: the target's instance key
  friend auto operator<=>(const PathOwner&, const PathOwner&) = default;
};

// An override a target instance was given (resolve::Node::given).
struct JournalArg {
  std::string name, value;
  bool dynamic = false;
  friend bool operator==(const JournalArg&, const JournalArg&) = default;
};

// A target instance of the journaled build, with what a partial build
// needs to resolve it again alone and to know whom a change reaches.
struct JournalTarget {
  Digest key;                    // resolve::Graph::key_of: the instance's identity
  std::string name;              // as shown in events and outputs
  std::string canonical;         // "./lib+build"
  std::string platform;          // empty: native
  std::vector<JournalArg> given; // the overrides it was given, in order
  bool output = false;           // its outputs are written (resolve::Node::output)
  std::string context;           // the context dir its key digests; empty: none
  std::vector<Digest> reads;     // the instances whose keys its key holds (FROM, COPY)
};

// A request's identity (what besides the recorded files can change its
// result): typed, length-prefixed fields in the Hasher's encoding, kept
// whole — the journal stores them and a hit compares them byte for byte —
// and named by a 128-bit FNV-1a of those bytes. Not SHA-256: OpenSSL's
// first use costs ~5 M instructions, more than the whole check.
class RequestKey {
public:
  RequestKey& add(std::string_view tag, std::string_view value);
  RequestKey& add(std::string_view tag, int64_t value);
  const std::string& bytes() const { return bytes_; }
  std::string name() const; // 32 hex digits

private:
  void field(std::string_view tag, char type, std::string_view value);
  std::string bytes_;
};

// One event of the build as shown (output::Status), replayed by a hit.
struct JournalEvent {
  enum class Kind : uint8_t { queued = 0, started, step_cached, finished };
  Kind kind = Kind::queued;
  output::StepInfo step; // step.target names the target for every kind
  int64_t ns = 0;        // step_cached: how long it took when it ran; finished: took
};

// Bytes left where they lie, as views in order (into a journal's bytes,
// which outlive them): what a partial build carries is copied once, by
// the write of its own journal.
struct Pieces {
  std::vector<std::string_view> views;
  // Adds `v`, joined to the last view when it starts where that one ends.
  void append(std::string_view v);
  size_t size() const;
  std::string joined() const;
};

// What a partial build keeps from the journal, as it is encoded there
// (views of its bytes, nothing decoded into strings): the events of the
// targets it does not rebuild (each section's events, without their count)
// and their summary, and the paths of theirs (packed path records).
struct JournalPart {
  Pieces targets, steps; // the two events sections' kept events
  size_t target_events = 0, step_events = 0;
  output::BuildTotals totals; // targets, cached, steps cached, saved, outputs
  Pieces paths;               // records of the packed path table
  size_t path_count = 0;
};

// A journal's packed path table (docs/formats.md#request-journals), as a
// view into its bytes.
struct PackedPaths {
  std::string_view table;
  size_t count = 0;
};

// Appends to `out` the records of `from` that `keep(path, follow, group)`
// accepts, as views of its bytes: how many, or nullopt when the table is
// malformed.
std::optional<size_t>
copy_paths(PackedPaths from, Pieces& out,
           const std::function<bool(std::string_view path, bool follow, uint32_t group)>& keep);

// A journal's bytes in pieces, for one writev: the megabytes a partial
// build carries are not copied into one buffer first. The views point into
// `own` and into the Journal encoded, which must outlive them.
struct JournalBytes {
  std::deque<std::string> own; // a deque: its strings stay where they are
  Pieces pieces;
  std::string joined() const { return pieces.joined(); }
};

struct Journal {
  std::string key;           // RequestKey::bytes() of the request it answers
  int64_t written_at_ns = 0; // CLOCK_REALTIME when the build that wrote it started
  std::vector<JournalPath> paths;
  std::vector<JournalTarget> targets;
  std::vector<std::vector<uint32_t>> groups; // JournalPath::group - 1 → indices into targets
  // Every event, in order; the targets' own (no step_cached) are also kept
  // apart, so a compact replay decodes only those.
  std::vector<JournalEvent> events;
  output::BuildTotals totals; // success, wall and error are not kept
  // A partial build's: events kept from the previous journal, written before `events`.
  JournalPart carried;

  // The path table holds `paths`, then `carried.paths`.
  JournalBytes encode_pieces() const;
  std::string encode() const { return encode_pieces().joined(); }
  // What decode reads: everything, or only the key, the targets, the
  // groups and the summary — a partial build carries the paths and events
  // as they are encoded (JournalPart).
  enum class Sections : uint8_t { all, targets };
  // nullopt for another magic or version, a bad token, a truncated file.
  static std::optional<Journal> decode(std::string_view bytes, Sections sections = Sections::all);

  // The targets a change to the paths of `groups` reaches: theirs, and
  // every target whose key holds one of those targets' keys, and so on.
  // Indices into `targets`, sorted; nullopt when a group is unknown.
  std::optional<std::vector<uint32_t>> reached(const std::vector<uint32_t>& groups) const;
};

// What the fast path's check found: everything unchanged, or the first
// change of a request path (the full path), or the groups whose paths
// changed (a partial build of Journal::reached(groups)).
struct JournalCheck {
  bool holds = false;
  bool request_changed = false;
  std::vector<uint32_t> groups; // sorted, each once
  std::string why;              // "<path> changed": a request path if one did, else the first
  std::string what;             // how that path changed: "removed", "size, mtime, ctime"…
  size_t changed = 0;           // paths found changed (all of them unless a request path did)
};

// How a path's identity `now` differs from the one it was journaled with,
// for --profile: "added", "removed", "unreadable", "not trusted (written
// as the build read it)", or the fields that differ ("inode, ctime").
std::string what_changed(const PathStat& was, const std::optional<PathStat>& now);

// A journal's sections as views into its bytes, nothing decoded: the fast
// path compares the key, stats the paths straight from their packed table,
// and decodes only the events it shows.
class JournalView {
public:
  // nullopt for another magic or version or a malformed file.
  static std::optional<JournalView> parse(std::string_view bytes);
  std::string_view key() const { return key_; }
  int64_t written_at_ns() const { return written_at_ns_; }
  size_t path_count() const { return path_count_; }
  PackedPaths packed_paths() const { return {paths_, path_count_}; }
  // Whether every path still has its recorded identity; `why` names the
  // first that does not.
  bool holds(std::string* why = nullptr) const;
  // Every path stat'ed (until a request path changed): as `holds`, and
  // which groups changed. The table is cut into `threads` runs stat'ed at
  // once (0: check_threads()), as git's preload-index does: a path walk
  // costs ~1.3 µs on the development machines, and 7,000 of them are most
  // of a no-op at N = 1,000. A thread that cannot be started runs here.
  JournalCheck check(size_t threads = 0) const;
  // The cores, at most one per 256 paths.
  size_t check_threads() const;
  // The paths, the events (every one with `steps`, else only the targets'),
  // the summary; nullopt when a section is malformed.
  std::optional<std::vector<JournalPath>> paths() const;
  std::optional<std::vector<JournalEvent>> events(bool steps) const;
  std::optional<output::BuildTotals> totals() const;
  // Shows the events (with `steps`: every one, else the targets') and the
  // summary on `status` as they are decoded; false, having shown nothing,
  // when a section is malformed.
  bool replay(bool steps, output::Status& status, output::Duration wall) const;
  // The events and summary of the targets not shown as one of `names`;
  // nullopt when a section is malformed.
  std::optional<JournalPart> part(const std::set<std::string, std::less<>>& names) const;

private:
  friend struct Journal;
  std::string_view key_, paths_, targets_, steps_, totals_, jtargets_, groups_;
  int64_t written_at_ns_ = 0;
  size_t path_count_ = 0;
};

// Collects a journal during the full path (thread-safe). Stats are taken
// when a path is first looked at, before it is read; a path seen again with
// another identity changed during the build: the first identity is kept,
// so that the next check finds the change.
class JournalRecorder : public store::IndexWatch {
public:
  // Paths below `base` (the working dir, which the request's key holds)
  // are journaled relative to it: each stat of the check then walks a few
  // components, not the whole absolute path (~20% less per stat).
  explicit JournalRecorder(int64_t started_ns, std::string base = {})
      : started_ns_(started_ns), base_(std::move(base)) {}
  void note(const std::string& path, bool follow, const PathStat& st, const PathOwner& owner = {});
  // Stats `path` now (absent included).
  void note_path(const std::string& path, bool follow = true, const PathOwner& owner = {});
  // lstat of `path` and of everything below it.
  void note_tree(const std::string& path, const PathOwner& owner = {});
  // An AS LOCAL output of target instance `target` as the export left it
  // (written now or not): its tree, exempt from the racy rule — the output
  // marker trusts the same stat (docs/cache.md#the-request-journal).
  void note_output(const std::string& path, const Digest& target);
  // A target instance of the build (every one the engine keyed).
  void note_target(JournalTarget target);
  // A partial build: the targets and groups of `previous` (decoded with
  // Sections::targets) and the records of its path table `paths` (whose
  // bytes must outlive finish()) are carried into its journal, each
  // target at its index and each group at its number, but for the paths
  // of the groups that hold a target this build rebuilt (`rebuilt`:
  // instance keys): it noted what they read now.
  void inherit(Journal previous, PackedPaths paths, std::set<Digest> rebuilt);
  // A request path the build replaces itself (the image index, by a
  // rename under the lock every writer takes): its stat just before and
  // just after. The finish journals the file as the build left it when
  // these follow on from each other and from its noted stat, so that no
  // one else's write hides between them; a later write gives a new inode.
  void rewriting(const std::string& file) override;
  void rewritten(const std::string& file) override;
  // The result is not a pure function of the recorded stats.
  void refuse(std::string why);
  std::string refused() const;
  // The journal, or nullopt when refused, when a request path is racy (its
  // mtime or ctime within the timestamp granularity of the build's start:
  // a later write in the same clock tick could leave its stat unchanged)
  // or changed during the build (the next check would miss). A racy path
  // of a target's is kept with an identity no stat has, so the next check
  // rebuilds that target. `events` are what a no-op shows (see
  // EventRecorder); the summary is made a no-op's from them.
  std::optional<Journal> finish(std::vector<JournalEvent> events, output::BuildTotals totals,
                                JournalPart carried = {});

private:
  struct Noted {
    PathStat st;
    std::set<PathOwner> owners;
  };
  using PathKey = std::pair<std::string, bool>;
  bool redundant(const PathKey& key, const Noted& n) const;
  bool from_output(const std::string& path) const;
  std::string journaled(const std::string& path) const;
  struct Groups;
  uint32_t group_of(const std::set<PathOwner>& owners, Groups& groups) const;
  bool carry(Journal& j, const std::vector<bool>& dropped) const;
  void note_rewrite(const std::string& file);
  bool rewritten_from(const std::string& path, const PathStat& noted, const PathStat& now) const;
  int64_t started_ns_;
  std::string base_;
  mutable std::mutex mu_;
  std::map<PathKey, Noted> paths_;
  std::set<std::string> outputs_; // noted by note_output
  std::vector<JournalTarget> targets_;
  std::optional<Journal> previous_; // inherit
  PackedPaths previous_paths_;
  std::set<Digest> rebuilt_;
  std::map<std::string, std::vector<PathStat>> rewrites_; // before, after, before, …
  std::string refused_;
};

// A Status that forwards every event and keeps what a no-op of the same
// build would show: each target queued, started and finished (cached), each
// step cached — a step that ran as cached, with the time it took. A failure
// refuses the recorder's journal.
class EventRecorder : public output::Status {
public:
  EventRecorder(output::Status& inner, JournalRecorder& journal) : inner_(inner), j_(journal) {}
  void target_queued(std::string_view target) override;
  void target_started(std::string_view target) override;
  void target_finished(std::string_view target, bool all_cached, output::Duration took) override;
  void target_failed(std::string_view target) override;
  void step_started(const output::StepInfo& step) override;
  void step_cached(const output::StepInfo& step, output::Duration last_took) override;
  void step_finished(const output::StepInfo& step, output::Duration took) override;
  void step_failed(const output::StepInfo& step, const output::StepFailure& failure) override;
  void step_output(const output::StepInfo& step, std::string_view line) override;
  void build_finished(const output::BuildTotals& totals) override;
  std::vector<JournalEvent> take_events();
  output::BuildTotals totals() const;
  // A partial build: keeps `kept`, the events of the targets it does not
  // rebuild, and shows them — their steps only with `steps` (-V), as a
  // journal hit does — and adds their summary to the build's. False,
  // having shown nothing, when they do not decode.
  bool carry(JournalPart kept, bool steps);
  // What carry kept (for the journal: JournalRecorder::finish).
  JournalPart take_carried();

private:
  void add(JournalEvent e);
  std::optional<JournalPart> carried_;
  output::Status& inner_;
  JournalRecorder& j_;
  mutable std::mutex mu_;
  std::vector<JournalEvent> events_;
  output::BuildTotals totals_;
};

// The resolver's Disk, recording every path it looks at (before reading).
class RecordingDisk : public Disk {
public:
  RecordingDisk(const Disk& inner, JournalRecorder& journal) : inner_(inner), j_(journal) {}
  FileStat stat(const std::string& path) const override;
  FileStat lstat(const std::string& path) const override;
  Result<std::string> read_file(const std::string& path) const override;
  Result<std::vector<std::string>> list_dir(const std::string& path) const override;

private:
  const Disk& inner_;
  JournalRecorder& j_;
};

// Shows `events` and the summary `totals` on `status` (a no-op's).
void replay_journal(const std::vector<JournalEvent>& events, output::BuildTotals totals,
                    output::Status& status, output::Duration wall);

} // namespace earth::build
