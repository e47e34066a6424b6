// The request journal's format and recorder (include/earth/build/journal.h,
// docs/formats.md#request-journals).
#include "earth/build/journal.h"

#include <gtest/gtest.h>
#include <time.h>

#include <fstream>
#include <map>
#include <set>

#include "earth/base/fs.h"
#include "earth/store/image_index.h"

namespace earth::build {
namespace {

int64_t now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

Digest digest_of(std::string_view name) {
  return Digest::of(name);
}

JournalTarget target(const std::string& name, const std::string& context = {},
                     std::vector<std::string> reads = {}) {
  JournalTarget t;
  t.key = digest_of(name);
  t.name = name;
  t.canonical = name;
  t.context = context;
  t.output = true;
  for (const auto& r : reads) t.reads.push_back(digest_of(r));
  return t;
}

// A journal as the fast path reads it: its bytes and the view into them.
struct Written {
  explicit Written(const Journal& j) : bytes(j.encode()), view(JournalView::parse(bytes)) {}
  Written(const Written&) = delete;
  std::string bytes;
  std::optional<JournalView> view;
};

// Whether every path of `j` still has its recorded identity, as the fast
// path checks it; `why` names the first that does not.
bool journal_holds(const Journal& j, std::string* why = nullptr) {
  std::string bytes = j.encode();
  auto v = JournalView::parse(bytes);
  return v && v->holds(why);
}

Journal sample() {
  Journal j;
  j.key = RequestKey().add("target", "+all").add("jobs", 2).bytes();
  j.written_at_ns = 1700000000123456789;
  PathStat st;
  st.kind = PathStat::Kind::file;
  st.mode = 0100644;
  st.dev = 2049;
  st.ino = 0xffffffffffffull; // large values survive
  st.size = 12;
  st.mtime_ns = 1600000000000000001;
  st.ctime_ns = 1600000000000000002;
  j.paths.push_back({"/p/Earthfile", true, st});
  j.paths.push_back({"/p/.earthlyignore", true, PathStat{}});
  j.paths.push_back({"/p/with:colon 5:x", false, st, 1});
  j.targets.push_back(target("+app", "/p", {"+base"}));
  j.targets.push_back(target("+base"));
  j.targets[0].given = {{"N", "1", false}, {"M", "$(x)", true}};
  j.targets[0].platform = "linux/arm64";
  j.groups = {{0}, {0, 1}};
  JournalEvent step{
      JournalEvent::Kind::step_cached, {"+app", "Earthfile:4:3", "RUN make", "Earthfile", 4}, 9000};
  j.events = {{JournalEvent::Kind::queued, {"+app"}, 0},
              {JournalEvent::Kind::started, {"+app"}, 0},
              step,
              {JournalEvent::Kind::finished, {"+app"}, 123}};
  j.totals.targets = 1;
  j.totals.targets_cached = 1;
  j.totals.steps_cached = 1;
  j.totals.saved = output::Duration{9000};
  j.totals.outputs = {{output::OutputInfo::Kind::artifact, "+app", "/p/out/x"},
                      {output::OutputInfo::Kind::image, "+app", "app:latest"}};
  j.totals.notes = {"a note"};
  return j;
}

TEST(Journal, RoundTrip) {
  Journal j = sample();
  auto back = Journal::decode(j.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key, j.key);
  EXPECT_EQ(back->written_at_ns, j.written_at_ns);
  ASSERT_EQ(back->paths.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->paths[i].path, j.paths[i].path);
    EXPECT_EQ(back->paths[i].follow, j.paths[i].follow);
    EXPECT_EQ(back->paths[i].st, j.paths[i].st);
  }
  ASSERT_EQ(back->events.size(), 4u);
  EXPECT_EQ(back->events[2].kind, JournalEvent::Kind::step_cached);
  EXPECT_EQ(back->events[2].step.where, "Earthfile:4:3");
  EXPECT_EQ(back->events[2].step.text, "RUN make");
  EXPECT_EQ(back->events[2].step.line, 4u);
  EXPECT_EQ(back->events[2].ns, 9000);
  EXPECT_EQ(back->events[3].ns, 123);
  EXPECT_EQ(back->totals.saved.count(), 9000);
  ASSERT_EQ(back->totals.outputs.size(), 2u);
  EXPECT_EQ(back->totals.outputs[1].kind, output::OutputInfo::Kind::image);
  EXPECT_EQ(back->totals.outputs[1].what, "app:latest");
  EXPECT_EQ(back->totals.notes, std::vector<std::string>{"a note"});
  EXPECT_EQ(back->paths[2].group, 1u);
  ASSERT_EQ(back->targets.size(), 2u);
  EXPECT_EQ(back->targets[0].key, j.targets[0].key);
  EXPECT_EQ(back->targets[0].given, j.targets[0].given);
  EXPECT_EQ(back->targets[0].platform, "linux/arm64");
  EXPECT_EQ(back->targets[0].context, "/p");
  EXPECT_EQ(back->targets[0].reads, std::vector<Digest>{digest_of("+base")});
  EXPECT_EQ(back->groups, j.groups);
  EXPECT_EQ(back->encode(), j.encode());
}

// A group naming no target, or a path naming no group, is a damaged journal.
TEST(Journal, GroupsMustNameTargetsAndGroups) {
  Journal j = sample();
  j.groups.push_back({7});
  EXPECT_FALSE(Journal::decode(j.encode()));
  j = sample();
  j.paths[0].group = 3;
  EXPECT_FALSE(Journal::decode(j.encode()));
}

// A change reaches its group's targets, then whoever reads them, and so on.
TEST(Journal, ReachedFollowsReaders) {
  Journal j;
  j.targets = {target("+a", "/a"), target("+b", "", {"+a"}), target("+c", "", {"+b"}),
               target("+d", "/d"), target("+e", "", {"+d", "+c"})};
  j.groups = {{0}, {3}, {0, 3}};
  EXPECT_EQ(j.reached({1}), (std::vector<uint32_t>{0, 1, 2, 4}));
  EXPECT_EQ(j.reached({2}), (std::vector<uint32_t>{3, 4}));
  EXPECT_EQ(j.reached({1, 3}), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(j.reached({4}));
  EXPECT_FALSE(j.reached({0})); // the request's own: never a partial build
}

// Each path is grouped with the targets it belongs to: a context's paths
// with every target keyed on that context, an output with its target; a
// request path (or one naming no target) is the request's.
TEST(Journal, RecorderGroupsPathsByOwner) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string req = fs::join(dir.path(), "Earthfile");
  ASSERT_TRUE(fs::write_file_atomic(req, "x"));
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.note_target(target("+one", "/ctx"));
  rec.note_target(target("+two", "/ctx"));
  rec.note_target(target("+three"));
  PathStat file;
  file.kind = PathStat::Kind::file;
  PathOwner ctx{PathOwner::Kind::context, "/ctx"};
  rec.note("/ctx/a", false, file, ctx);
  rec.note("/out/x", false, file, {PathOwner::Kind::output, {}, digest_of("+three")});
  rec.note("/ctx/shared", false, file, ctx);
  rec.note("/ctx/shared", false, file, {PathOwner::Kind::output, {}, digest_of("+three")});
  rec.note("/ctx/both", false, file, ctx);
  rec.note_path(req, true); // the request's
  std::string other = fs::join(dir.path(), "other");
  ASSERT_TRUE(fs::write_file_atomic(other, "x"));
  rec.note_path(other, false, {PathOwner::Kind::context, "/other"}); // no target: the request's
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  std::map<std::string, std::vector<uint32_t>> got;
  for (const auto& p : j->paths) {
    std::vector<uint32_t> members;
    if (p.group > 0) members = j->groups[p.group - 1];
    got[p.path] = members;
  }
  EXPECT_EQ(got["/ctx/a"], (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(got["/ctx/both"], (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(got["/out/x"], (std::vector<uint32_t>{2}));
  EXPECT_EQ(got["/ctx/shared"], (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_TRUE(got.contains(req) && got[req].empty());
  EXPECT_TRUE(got.contains(other) && got[other].empty());
  EXPECT_EQ(j->groups.size(), 3u); // one group per distinct set of targets
}

// A target's input written just now is kept with an identity no stat has:
// the journal is written, and its next check rebuilds that target alone.
TEST(Journal, ARacyTargetPathIsRebuiltNextTime) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "a.txt");
  std::string req = fs::join(dir.path(), "Earthfile");
  ASSERT_TRUE(fs::write_file_atomic(req, "x"));
  ASSERT_TRUE(fs::write_file_atomic(file, "one"));
  auto old = PathStat::of(req, true);
  ASSERT_TRUE(old);
  JournalRecorder rec(now_ns()); // a.txt was written just now
  rec.note_target(target("+t", dir.path()));
  rec.note_path(file, false, {PathOwner::Kind::context, dir.path()});
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  Written w(*j);
  auto& v = w.view;
  ASSERT_TRUE(v);
  JournalCheck c = v->check();
  EXPECT_FALSE(c.holds);
  EXPECT_FALSE(c.request_changed);
  EXPECT_EQ(c.groups, std::vector<uint32_t>{1});
  EXPECT_EQ(c.why, file + " changed");
  EXPECT_EQ(c.what, "not trusted: written as the build read it");
}

// The check goes on past a target's change, and stops at the request's.
TEST(Journal, CheckNamesTheGroupsThatChanged) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string a = fs::join(dir.path(), "a"), b = fs::join(dir.path(), "b");
  std::string req = fs::join(dir.path(), "Earthfile");
  for (const auto& f : {a, b, req}) ASSERT_TRUE(fs::write_file_atomic(f, "1"));
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.note_target(target("+a", "/A"));
  rec.note_target(target("+b", "/B"));
  rec.note_path(a, false, {PathOwner::Kind::context, "/A"});
  rec.note_path(b, false, {PathOwner::Kind::context, "/B"});
  rec.note_path(req, true);
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  Written w(*j);
  auto& v = w.view;
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->check().holds);
  ASSERT_TRUE(fs::write_file_atomic(a, "22"));
  ASSERT_TRUE(fs::write_file_atomic(b, "22"));
  JournalCheck c = v->check();
  EXPECT_FALSE(c.holds);
  EXPECT_FALSE(c.request_changed);
  ASSERT_EQ(c.groups.size(), 2u);
  auto reached = j->reached(c.groups);
  ASSERT_TRUE(reached);
  EXPECT_EQ(*reached, (std::vector<uint32_t>{0, 1}));
  ASSERT_TRUE(fs::write_file_atomic(req, "22"));
  EXPECT_TRUE(v->check().request_changed);
}

// The check cut into runs stat'ed at once finds what one run finds: every
// changed group, the first change's reason, a request change anywhere
// (here in the last run, after targets' changes).
TEST(Journal, ACheckInRunsFindsWhatOneRunFinds) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  JournalRecorder rec(now_ns() + 60'000'000'000);
  std::vector<std::string> files;
  for (int t = 0; t < 10; ++t) {
    std::string ctx = "/C" + std::to_string(t);
    rec.note_target(target("+t" + std::to_string(t), ctx));
    for (int f = 0; f < 4; ++f) {
      files.push_back(fs::join(dir.path(), std::to_string(t) + "-" + std::to_string(f)));
      ASSERT_TRUE(fs::write_file_atomic(files.back(), "1"));
      rec.note_path(files.back(), false, {PathOwner::Kind::context, ctx});
    }
  }
  std::string req = fs::join(dir.path(), "zz-Earthfile"); // noted last
  ASSERT_TRUE(fs::write_file_atomic(req, "1"));
  rec.note_path(req, true);
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  Written w(*j);
  auto& v = w.view;
  ASSERT_TRUE(v);
  auto each_cut = [&](auto&& expect) {
    for (size_t runs : {1, 2, 3, 7, 41, 100}) {
      SCOPED_TRACE(runs);
      expect(v->check(runs));
    }
  };
  each_cut([](const JournalCheck& c) { EXPECT_TRUE(c.holds); });
  ASSERT_TRUE(fs::write_file_atomic(files[9], "22"));  // +t2's
  ASSERT_TRUE(fs::write_file_atomic(files[38], "22")); // +t9's
  std::vector<uint32_t> groups;
  each_cut([&](const JournalCheck& c) {
    EXPECT_FALSE(c.holds);
    EXPECT_FALSE(c.request_changed);
    EXPECT_EQ(c.groups.size(), 2u);
    EXPECT_EQ(c.why, files[9] + " changed");
    EXPECT_NE(c.what.find("inode"), std::string::npos) << c.what; // replaced by a rename
    EXPECT_EQ(c.changed, 2u);
    if (groups.empty()) groups = c.groups;
    EXPECT_EQ(c.groups, groups);
  });
  ASSERT_TRUE(fs::write_file_atomic(req, "22"));
  each_cut([&](const JournalCheck& c) {
    EXPECT_FALSE(c.holds);
    EXPECT_TRUE(c.request_changed);
    EXPECT_EQ(c.why, req + " changed");
  });
}

// A partial build's journal: this build's paths and targets, and the
// previous journal's for the targets it did not rebuild (their groups
// renumbered); what belonged to a rebuilt target and was not seen again is
// gone (a file deleted).
// A partial build keeps each target at its index and each group at its
// number; the paths of a group that holds a rebuilt target go (it noted
// what it reads now), the others are carried as they were.
TEST(Journal, APartialBuildCarriesWhatItDidNotRebuild) {
  PathStat file;
  file.kind = PathStat::Kind::file;
  Journal before;
  before.targets = {target("+a", "/a"), target("+b", "/b")};
  before.groups = {{0}, {1}, {0, 1}};
  before.paths = {{"/a/gone", false, file, 1},
                  {"/b/y", false, file, 2},
                  {"/a/kept", false, file, 1},
                  {"/ab/shared", false, file, 3},
                  {"/request", true, file, 0}};
  std::string bytes = before.encode();
  auto view = JournalView::parse(bytes);
  auto previous = Journal::decode(bytes, Journal::Sections::targets);
  ASSERT_TRUE(view && previous);
  EXPECT_TRUE(previous->paths.empty());
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.inherit(*previous, view->packed_paths(), {digest_of("+a")});
  JournalTarget a = target("+a", "/a", {"+b"}); // it reads +b now
  rec.note_target(a);
  PathStat changed = file;
  changed.size = 5;
  rec.note("/a/kept", false, changed, {PathOwner::Kind::context, "/a"});
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  ASSERT_EQ(j->targets.size(), 2u);
  EXPECT_EQ(j->targets[0].name, "+a");
  EXPECT_EQ(j->targets[0].reads, a.reads);
  EXPECT_EQ(j->targets[1].name, "+b");
  EXPECT_EQ(j->carried.path_count, 2u); // /b/y and /request, byte for byte
  auto back = Journal::decode(j->encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->groups, before.groups);
  std::map<std::string, std::pair<PathStat, std::vector<uint32_t>>> got;
  for (const auto& p : back->paths)
    got[p.path] = {p.st, p.group ? back->groups[p.group - 1] : std::vector<uint32_t>{}};
  EXPECT_EQ(got.size(), 3u);
  EXPECT_FALSE(got.contains("/a/gone"));
  EXPECT_FALSE(got.contains("/ab/shared"));
  EXPECT_EQ(got["/a/kept"].first, changed);
  EXPECT_EQ(got["/a/kept"].second, std::vector<uint32_t>{0});
  EXPECT_EQ(got["/b/y"].second, std::vector<uint32_t>{1});
  EXPECT_TRUE(got.contains("/request"));
}

// Paths below the working dir are journaled relative to it (each stat of
// the check walks fewer components); others stay absolute.
TEST(Journal, PathsBelowTheWorkingDirAreRelative) {
  JournalRecorder rec(now_ns() + 60'000'000'000, "/p");
  for (const char* path : {"/p", "/p/a/b", "/pq/x", "/other/p/y"}) rec.note(path, false, {});
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  std::set<std::string> got;
  for (const auto& p : j->paths) got.insert(p.path);
  EXPECT_EQ(got, (std::set<std::string>{".", "a/b", "/pq/x", "/other/p/y"}));
}

// A carried path whose group the journal does not have: not written.
TEST(Journal, APartialBuildRefusesAPathOfAnUnknownGroup) {
  PathStat file;
  file.kind = PathStat::Kind::file;
  Journal before;
  before.targets = {target("+a", "/a")};
  before.groups = {{0}};
  before.paths = {{"/a/x", false, file, 1}, {"/b/y", false, file, 7}};
  std::string bytes = before.encode();
  auto view = JournalView::parse(bytes);
  auto previous = Journal::decode(bytes, Journal::Sections::targets);
  ASSERT_TRUE(view && previous);
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.inherit(*previous, view->packed_paths(), {digest_of("+a")});
  rec.note_target(target("+a", "/a"));
  EXPECT_FALSE(rec.finish({}, {}));
  EXPECT_NE(rec.refused().find("do not decode"), std::string::npos) << rec.refused();
}

// What a partial build shows of the journal: the other targets' events
// and outputs, their counts added to the build's own summary; the next
// journal holds their events as they were, then the build's.
TEST(Journal, APartialBuildShowsAndKeepsTheOtherTargets) {
  Journal j = sample();
  j.events.push_back({JournalEvent::Kind::finished, {"+other"}, 5});
  j.totals.outputs.push_back({output::OutputInfo::Kind::artifact, "+other", "/p/o"});
  std::string bytes = j.encode();
  auto view = JournalView::parse(bytes);
  ASSERT_TRUE(view);
  auto part = view->part({"+app"});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->target_events, 1u);
  EXPECT_EQ(part->step_events, 1u);
  EXPECT_EQ(part->totals.targets, 1u);
  EXPECT_EQ(part->totals.steps_cached, 0u);
  ASSERT_EQ(part->totals.outputs.size(), 1u);
  EXPECT_EQ(part->totals.outputs[0].target, "+other");

  auto kept = view->part({"+other"});
  ASSERT_TRUE(kept);
  // Views of the journal's bytes, nothing copied: each run of kept events one view.
  auto within = [&](const Pieces& p) {
    for (auto v : p.views)
      if (v.data() < bytes.data() || v.data() + v.size() > bytes.data() + bytes.size())
        return false;
    return true;
  };
  EXPECT_TRUE(within(kept->targets) && within(kept->steps));
  EXPECT_EQ(kept->targets.views.size(), 1u);
  EXPECT_EQ(kept->totals.steps_cached, 1u);
  EXPECT_EQ(kept->totals.saved.count(), 9000);
  output::RecordingStatus inner;
  JournalRecorder rec(now_ns() + 60'000'000'000);
  EventRecorder events(inner, rec);
  ASSERT_TRUE(events.carry(*kept, false));
  events.target_queued("+other");
  events.step_finished({"+other", "Earthfile:9:3", "RUN x"}, output::Duration{70});
  events.target_finished("+other", false, output::Duration{80});
  output::BuildTotals own;
  own.success = true;
  own.targets = 1;
  own.steps_run = 1;
  own.outputs = {{output::OutputInfo::Kind::artifact, "+other", "/p/o"}};
  events.build_finished(own);
  auto t = inner.totals();
  EXPECT_EQ(t.targets, 2u);
  EXPECT_EQ(t.targets_cached, 1u);
  EXPECT_EQ(t.steps_cached, 1u);
  EXPECT_EQ(t.steps_run, 1u);
  EXPECT_EQ(t.outputs.size(), 3u); // +app's two, then the build's

  auto next = rec.finish(events.take_events(), events.totals(), events.take_carried());
  ASSERT_TRUE(next) << rec.refused();
  auto back = Journal::decode(next->encode());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->events.size(), 7u); // +app's four, then +other's three
  EXPECT_EQ(back->events[2].step.text, "RUN make");
  EXPECT_EQ(back->events[5].step.text, "RUN x");
  EXPECT_EQ(back->totals.steps_cached, 2u); // a no-op's: every step cached
  EXPECT_EQ(back->totals.saved.count(), 9070);
  std::string next_bytes = next->encode();
  auto again = JournalView::parse(next_bytes); // views into next_bytes
  ASSERT_TRUE(again);
  EXPECT_EQ(again->events(false)->size(), 5u);

  // Shown as a hit shows them: the step's line only with -V.
  output::RecordingStatus verbose;
  JournalRecorder rec2(now_ns() + 60'000'000'000);
  EventRecorder events2(verbose, rec2);
  ASSERT_TRUE(events2.carry(*kept, true));
  output::RecordingStatus compact;
  JournalRecorder rec3(now_ns() + 60'000'000'000);
  EventRecorder events3(compact, rec3);
  ASSERT_TRUE(events3.carry(*kept, false));
  EXPECT_EQ(verbose.lines().size(), compact.lines().size() + 1);
}

TEST(Journal, RequestKeyFieldsAreTypedAndDelimited) {
  RequestKey a, b, c, d;
  a.add("x", "ab").add("y", "c");
  b.add("x", "a").add("y", "bc");
  c.add("x", "ab").add("y", "c");
  d.add("x", int64_t(1));
  EXPECT_NE(a.bytes(), b.bytes());
  EXPECT_NE(a.name(), b.name());
  EXPECT_EQ(a.bytes(), c.bytes());
  EXPECT_EQ(a.name(), c.name());
  EXPECT_EQ(a.name().size(), 32u);
  EXPECT_NE(d.bytes(), RequestKey().add("x", "\x01").bytes()); // the type is in the bytes
}

TEST(Journal, UnknownVersionRefused) {
  std::string bytes = sample().encode();
  std::string other = bytes;
  other.replace(0, std::string(kJournalMagic).size() + 2, std::string(kJournalMagic) + " 1");
  ASSERT_NE(other, bytes);
  EXPECT_FALSE(Journal::decode(other));
  EXPECT_FALSE(Journal::decode("earth-target-record 3\n"));
  EXPECT_FALSE(Journal::decode(""));
}

TEST(Journal, TruncatedOrTrailingIsAMiss) {
  std::string bytes = sample().encode();
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(Journal::decode(bytes.substr(0, n))) << n;
  EXPECT_FALSE(Journal::decode(bytes + "1:x"));
  std::string bad = bytes;
  bad[bad.size() / 2] = 'z'; // a damaged token
  auto d = Journal::decode(bad);
  if (d) EXPECT_NE(d->encode(), bytes); // never read as the original
}

TEST(Journal, HoldsUntilAPathChanges) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "a.txt");
  ASSERT_TRUE(fs::write_file_atomic(file, "one"));
  JournalRecorder rec(now_ns() + 60'000'000'000); // as if the build started a minute later
  rec.note_path(file);
  rec.note_path(fs::join(dir.path(), "absent"));
  rec.note_path(dir.path());
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  EXPECT_TRUE(journal_holds(*j));
  {
    std::ofstream out(file, std::ios::app); // in place: the dir does not change
    out << "more";
  }
  std::string why;
  EXPECT_FALSE(journal_holds(*j, &why));
  EXPECT_EQ(why, file + " changed");
  // A path recorded absent that appears.
  JournalRecorder again(now_ns() + 60'000'000'000);
  again.note_path(fs::join(dir.path(), "absent"));
  auto k = again.finish({}, {});
  ASSERT_TRUE(k);
  EXPECT_TRUE(journal_holds(*k));
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "absent"), "now here"));
  EXPECT_FALSE(journal_holds(*k));
}

TEST(Journal, RacyPathsAreNotJournaled) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "a.txt");
  ASSERT_TRUE(fs::write_file_atomic(file, "one"));
  JournalRecorder rec(now_ns()); // the file was written just now
  rec.note_path(file);
  EXPECT_FALSE(rec.finish({}, {}));
  EXPECT_NE(rec.refused().find("racy"), std::string::npos) << rec.refused();
}

// A request path seen with two identities refuses the journal (the next
// check would take the full path anyway); a target's path keeps its first
// identity, so that the next check rebuilds that target.
TEST(Journal, AChangeDuringTheBuild) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "x");
  ASSERT_TRUE(fs::write_file_atomic(file, "x"));
  auto first = PathStat::of(file, false);
  ASSERT_TRUE(first);
  PathStat later = *first;
  later.size = 99;
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.note(file, false, *first);
  rec.note(file, true, later); // another kind of look: another entry
  EXPECT_TRUE(rec.refused().empty());
  rec.note(file, true, *first);
  EXPECT_FALSE(rec.finish({}, {}));
  EXPECT_NE(rec.refused().find("during the build"), std::string::npos) << rec.refused();

  JournalRecorder owned(now_ns() + 60'000'000'000);
  owned.note_target(target("+t", "/ctx"));
  PathOwner ctx{PathOwner::Kind::context, "/ctx"};
  owned.note("/ctx/a", false, *first, ctx);
  owned.note("/ctx/a", false, later, ctx);
  auto j = owned.finish({}, {});
  ASSERT_TRUE(j) << owned.refused();
  ASSERT_EQ(j->paths.size(), 1u);
  EXPECT_EQ(j->paths[0].st, *first);
  EXPECT_EQ(j->paths[0].group, 1u);
}

// The image index, a request path, rewritten by the build itself: the
// journal keeps the file as the build left it. Anyone else's write, before
// the build's or after it, still refuses the journal.
TEST(Journal, TheBuildsOwnRewritesOfTheImageIndexAreJournaled) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "images.json");
  store::ImageIndex index(dir.path());
  ASSERT_TRUE(index.set("base", Digest::of("m0")).ok());
  auto build = [&](auto&& during) {
    JournalRecorder rec(now_ns() + 60'000'000'000); // nothing racy
    rec.note_path(file);
    index.watch(&rec);
    during();
    index.watch(nullptr);
    auto j = rec.finish({}, {});
    return std::make_pair(std::move(j), rec.refused());
  };
  auto [own, why] = build([&] {
    ASSERT_TRUE(index.set("app", Digest::of("m1")).ok());
    ASSERT_TRUE(index.set("app", Digest::of("m2")).ok());
  });
  ASSERT_TRUE(own) << why;
  ASSERT_EQ(own->paths.size(), 1u);
  EXPECT_EQ(own->paths[0].st, *PathStat::of(file, true));
  EXPECT_TRUE(journal_holds(*own));

  store::ImageIndex other(dir.path()); // another process's, unwatched
  auto [before, why_before] = build([&] {
    ASSERT_TRUE(other.set("x", Digest::of("m3")).ok());
    ASSERT_TRUE(index.set("app", Digest::of("m4")).ok());
  });
  EXPECT_FALSE(before);
  EXPECT_NE(why_before.find("changed during the build"), std::string::npos) << why_before;
  auto [after, why_after] = build([&] {
    ASSERT_TRUE(index.set("app", Digest::of("m5")).ok());
    ASSERT_TRUE(other.set("x", Digest::of("m6")).ok());
  });
  EXPECT_FALSE(after);
  EXPECT_NE(why_after.find("changed during the build"), std::string::npos) << why_after;
}

TEST(Journal, ReplayShowsTheEvents) {
  output::RecordingStatus status;
  Journal j = sample();
  replay_journal(j.events, j.totals, status, output::Duration{5});
  auto t = status.totals();
  EXPECT_TRUE(t.success);
  EXPECT_EQ(t.targets, 1u);
  EXPECT_EQ(t.steps_cached, 1u);
  EXPECT_EQ(t.outputs.size(), 2u);
  EXPECT_GE(status.lines().size(), 4u);
}

// A build that ran a step is journaled as its no-op: the step cached,
// saving what it took; a failure refuses.
TEST(Journal, EventRecorderKeepsARunStepAsCached) {
  output::RecordingStatus inner;
  JournalRecorder rec(now_ns() + 60'000'000'000);
  EventRecorder events(inner, rec);
  events.target_queued("+a");
  events.target_started("+a");
  events.step_cached({"+a", "Earthfile:3:3", "COPY x x"}, output::Duration{7});
  events.step_started({"+a", "Earthfile:4:3", "RUN make"});
  events.step_output({"+a"}, "compiling");
  events.step_finished({"+a", "Earthfile:4:3", "RUN make"}, output::Duration{1000});
  events.target_finished("+a", false, output::Duration{2000});
  output::BuildTotals totals;
  totals.success = true;
  totals.targets = 1;
  totals.steps_run = 1;
  totals.steps_cached = 1;
  events.build_finished(totals);
  EXPECT_TRUE(rec.refused().empty()) << rec.refused();
  auto j = rec.finish(events.take_events(), events.totals());
  ASSERT_TRUE(j) << rec.refused();
  ASSERT_EQ(j->events.size(), 5u);
  EXPECT_EQ(j->events[3].kind, JournalEvent::Kind::step_cached);
  EXPECT_EQ(j->events[3].ns, 1000);
  EXPECT_EQ(j->events[4].ns, 0); // the next build reuses it in no time
  EXPECT_EQ(j->totals.targets_cached, 1u);
  EXPECT_EQ(j->totals.steps_run, 0u);
  EXPECT_EQ(j->totals.steps_cached, 2u);
  EXPECT_EQ(j->totals.saved.count(), 1007);

  JournalRecorder failed(0);
  EventRecorder more(inner, failed);
  output::StepInfo step;
  step.target = "+a";
  more.step_failed(step, {});
  EXPECT_FALSE(failed.refused().empty());
}

// Pieces join views that follow on from each other.
TEST(Journal, PiecesJoinAdjacentViews) {
  std::string bytes = "abcdef";
  std::string_view all = bytes;
  Pieces p;
  p.append(all.substr(0, 2));
  p.append(all.substr(2, 1)); // follows on: one view "abc"
  p.append(all.substr(4, 2)); // a gap: a second view
  p.append({});
  ASSERT_EQ(p.views.size(), 2u);
  EXPECT_EQ(p.views[0], "abc");
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p.joined(), "abcef");
}

// --profile says how a path changed: which of its identity's fields differ.
TEST(Journal, SaysHowAPathChanged) {
  PathStat file{PathStat::Kind::file, 0100644, 1, 2, 3, 4, 5};
  PathStat absent;
  EXPECT_EQ(what_changed(absent, file), "added");
  EXPECT_EQ(what_changed(file, absent), "removed");
  EXPECT_EQ(what_changed(file, std::nullopt), "unreadable");
  EXPECT_EQ(what_changed(PathStat::untrusted(), file), "not trusted: written as the build read it");
  PathStat appended = file;
  appended.size = 9;
  appended.mtime_ns = appended.ctime_ns = 7;
  EXPECT_EQ(what_changed(file, appended), "size, mtime, ctime");
  PathStat moved = file;
  moved.kind = PathStat::Kind::dir;
  moved.mode = 040755;
  moved.dev = 8;
  moved.ino = 9;
  EXPECT_EQ(what_changed(file, moved), "type, mode, device, inode");
}

// The fast path reads sections: the targets' events alone, or every one.
TEST(Journal, ViewGivesTargetsOrSteps) {
  Journal j = sample();
  std::string bytes = j.encode();
  auto v = JournalView::parse(bytes);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->key(), j.key);
  EXPECT_EQ(v->path_count(), 3u);
  auto targets = v->events(false);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 3u);
  for (const auto& e : *targets) EXPECT_NE(e.kind, JournalEvent::Kind::step_cached);
  auto all = v->events(true);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u);
  std::string why;
  EXPECT_FALSE(v->holds(&why)); // /p/Earthfile is not there
  EXPECT_EQ(why, "/p/Earthfile changed");
}

// A compact replay shows the targets' events and the summary; -V every step.
TEST(Journal, ViewReplaysCompactlyOrEveryStep) {
  std::string bytes = sample().encode();
  auto v = JournalView::parse(bytes);
  ASSERT_TRUE(v);
  output::RecordingStatus compact, every;
  ASSERT_TRUE(v->replay(false, compact, output::Duration{5}));
  ASSERT_TRUE(v->replay(true, every, output::Duration{5}));
  EXPECT_EQ(every.lines().size(), compact.lines().size() + 1); // the one cached step
  EXPECT_EQ(compact.totals().steps_cached, 1u);                // the summary keeps the counts
  EXPECT_TRUE(compact.totals().success);
  std::string damaged = bytes;
  damaged.resize(bytes.size() - 1);
  EXPECT_FALSE(JournalView::parse(damaged));
}

TEST(Journal, ViewHoldsUntilAPathChanges) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string file = fs::join(dir.path(), "a.txt");
  ASSERT_TRUE(fs::write_file_atomic(file, "one"));
  JournalRecorder rec(now_ns() + 60'000'000'000);
  rec.note_path(file, false);
  rec.note_path(dir.path());
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  Written w(*j);
  auto& v = w.view;
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->holds());
  ASSERT_TRUE(fs::write_file_atomic(file, "two"));
  EXPECT_FALSE(v->holds());
}

// An output just written is as trusted as its output marker; an input
// written just now is not (racy), nor a directory the build changed.
TEST(Journal, OutputsAreExemptFromTheRacyRule) {
  fs::TempDir dir{"/tmp", "earth-journal-test"};
  std::string out = fs::join(dir.path(), "out");
  ASSERT_TRUE(fs::make_dirs(out));
  ASSERT_TRUE(fs::write_file_atomic(fs::join(out, "x.txt"), "x"));
  JournalRecorder rec(now_ns() - 1'000'000'000);
  rec.note_output(out, Digest{});
  auto j = rec.finish({}, {});
  ASSERT_TRUE(j) << rec.refused();
  EXPECT_EQ(j->paths.size(), 2u);

  JournalRecorder input(now_ns() - 1'000'000'000);
  input.note_path(fs::join(out, "x.txt"));
  EXPECT_FALSE(input.finish({}, {}));

  JournalRecorder changed(now_ns() + 60'000'000'000);
  changed.note_path(dir.path());
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "new.txt"), "n"));
  EXPECT_FALSE(changed.finish({}, {}));
  EXPECT_NE(changed.refused().find("during the build"), std::string::npos) << changed.refused();
}

} // namespace
} // namespace earth::build
