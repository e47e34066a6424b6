// The request journal's format and recorder (include/earth/build/journal.h,
// docs/formats.md#request-journals).
#include "earth/build/journal.h"

#include <gtest/gtest.h>
#include <time.h>

#include <fstream>

#include "earth/base/fs.h"

namespace earth::build {
namespace {

int64_t now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
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
  j.paths.push_back({"/p/with:colon 5:x", false, st});
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
  EXPECT_EQ(back->encode(), j.encode());
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
  EXPECT_TRUE(journal_holds(j->paths));
  {
    std::ofstream out(file, std::ios::app); // in place: the dir does not change
    out << "more";
  }
  std::string why;
  EXPECT_FALSE(journal_holds(j->paths, &why));
  EXPECT_EQ(why, file + " changed");
  // A path recorded absent that appears.
  JournalRecorder again(now_ns() + 60'000'000'000);
  again.note_path(fs::join(dir.path(), "absent"));
  auto k = again.finish({}, {});
  ASSERT_TRUE(k);
  EXPECT_TRUE(journal_holds(k->paths));
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "absent"), "now here"));
  EXPECT_FALSE(journal_holds(k->paths));
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

TEST(Journal, AChangeDuringTheBuildRefuses) {
  JournalRecorder rec(now_ns() + 60'000'000'000);
  PathStat a, b;
  a.kind = b.kind = PathStat::Kind::file;
  b.size = 1;
  rec.note("/x", false, a);
  rec.note("/x", true, b); // another kind of look: another entry
  EXPECT_TRUE(rec.refused().empty());
  rec.note("/x", false, b);
  EXPECT_FALSE(rec.finish({}, {}));
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
  std::string bytes = j->encode();
  auto v = JournalView::parse(bytes);
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
  rec.note_output(out);
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
