// Target-level reuse on the journal-miss path: the build-context walk
// (directories listed relative to their open fd, the ignore file chosen
// from the listing) and the target records (read in one read, not
// fsynced: a damaged one must be ignored, never misread).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "../../../src/build/tree.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/build/build.h"
#include "earth/build/journal.h"
#include "earth/resolve/resolve.h"
#include "fake_build.h"

namespace earth::build {
namespace {

class TargetCacheTest : public FakeBuild {
protected:
  std::vector<std::string> records() {
    auto names = fs::list_dir(fs::join(cache.path(), "targets"));
    std::vector<std::string> out;
    if (names)
      for (const auto& n : *names)
        if (n.find('.') == std::string::npos) out.push_back(fs::join(cache.path(), "targets/" + n));
    return out;
  }
};

constexpr const char* kCopySrc =
    "VERSION 0.8\nFROM scratch\nt:\n  COPY src /ctx\n  RUN build\n"
    "  RUN write out.txt done\n  SAVE ARTIFACT out.txt AS LOCAL out.txt\n";

TEST_F(TargetCacheTest, AnEditDeepInTheContextRerunsTheTarget) {
  write("Earthfile", kCopySrc);
  write("src/a/b/c/deep.txt", "1");
  write("src/top.txt", "1");
  build("+t");
  size_t runs = runtime.runs().size();
  build("+t");
  EXPECT_EQ(runtime.runs().size(), runs) << "nothing changed: reused";
  write("src/a/b/c/deep.txt", "2");
  build("+t");
  EXPECT_GT(runtime.runs().size(), runs) << "a file three directories down is in the key";
  runs = runtime.runs().size();
  write("src/a/b/new.txt", "1");
  build("+t");
  EXPECT_GT(runtime.runs().size(), runs) << "a new file in a subdirectory is in the key";
  runs = runtime.runs().size();
  ASSERT_EQ(::symlink("top.txt", fs::join(dir.path(), "src/link").c_str()), 0);
  build("+t");
  EXPECT_GT(runtime.runs().size(), runs) << "a new symlink is in the key";
}

TEST_F(TargetCacheTest, TheIgnoreFileIsChosenFromTheListing) {
  write("Earthfile", kCopySrc);
  write("src/a.txt", "1");
  write("src/b.log", "1");
  write(".earthignore", "src/*.log\n");
  build("+t");
  size_t runs = runtime.runs().size();
  write("src/b.log", "2");
  build("+t");
  EXPECT_EQ(runtime.runs().size(), runs) << ".earthignore applies when it is the only one";
  // .earthlyignore, once present, is read instead (and ignores nothing here).
  write(".earthlyignore", "# nothing\n");
  build("+t");
  runs = runtime.runs().size();
  write("src/b.log", "3");
  build("+t");
  EXPECT_GT(runtime.runs().size(), runs) << ".earthlyignore wins over .earthignore";
}

TEST_F(TargetCacheTest, ADamagedOrOldRecordIsIgnoredCleanly) {
  write("Earthfile", kCopySrc);
  write("src/a.txt", "1");
  build("+t");
  size_t runs = runtime.runs().size();
  auto recs = records();
  ASSERT_FALSE(recs.empty());
  auto whole = fs::read_file(recs[0]);
  ASSERT_TRUE(whole.ok());
  // What a power cut may leave of a record that was not fsynced: nothing, a
  // prefix; and a record of an older version.
  const std::string damaged[] = {"",
                                 whole->substr(0, whole->size() / 2),
                                 whole->substr(0, whole->size() - 1),
                                 whole->substr(0, 10),
                                 "earth-target-record 2\n" + whole->substr(whole->find('\n') + 1),
                                 "earth-target-record 3\n" + whole->substr(whole->find('\n') + 1),
                                 *whole + "1:x"};
  for (const auto& bytes : damaged) {
    for (const auto& r : recs) ASSERT_TRUE(fs::write_file_atomic(r, bytes).ok());
    ::unlink(fs::join(dir.path(), "out.txt").c_str());
    build("+t");
    EXPECT_EQ(runtime.runs().size(), runs) << "the steps are still hits: no sandbox";
    EXPECT_EQ(read("out.txt"), "done");
  }
  // The walk wrote the record again, whole.
  auto again = fs::read_file(recs[0]);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->starts_with("earth-target-record 4\n"));
}

// Two instances of ./svc+build that differ only by the override the second
// passes on have the same input: they reuse one record, which one of them
// wrote. Each is shown with the record's steps under its own name, never
// the writer's (so neither twice nor not at all), in every build.
TEST_F(TargetCacheTest, InstancesSharingARecordAreEachShownWithTheirOwnSteps) {
  write("svc/Earthfile", "VERSION 0.8\nFROM scratch\n"
                         "build:\n  RUN write y.txt y\n  SAVE ARTIFACT y.txt\n"
                         "image:\n  ARG TAG=dev\n  COPY +build/y.txt /z.txt\n");
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./svc+build\n  BUILD ./svc+image --TAG=dev\n"
                     "image:\n  BUILD ./svc+image --TAG=dev\n");
  std::vector<std::string> want;
  for (std::string t : {"./svc+build", "./svc+build (passes --TAG=dev)"})
    want.insert(want.end(), {"cached " + t, "hit " + t + " RUN write y.txt y",
                             "hit " + t + " SAVE ARTIFACT y.txt"});
  std::sort(want.begin(), want.end());
  // Written by a build where the passing instance is the only one (named
  // as the plain one is in +all), then by +all, where either may write it.
  for (const char* first : {"+image", "+all"}) {
    build(first);
    for (int again = 0; again < 2; ++again) {
      size_t from = status.lines().size();
      build("+all");
      auto lines = status.lines();
      std::vector<std::string> shown;
      for (size_t i = from; i < lines.size(); ++i)
        if (lines[i].find("svc+build") != std::string::npos && !lines[i].starts_with("queued") &&
            !lines[i].starts_with("start"))
          shown.push_back(lines[i]);
      std::sort(shown.begin(), shown.end());
      EXPECT_EQ(shown, want) << "after " << first;
    }
  }
}

TEST(ReadOwnFile, ReadsSmallAndLargeFilesWhole) {
  fs::TempDir dir{"/tmp", "earth-read-own"};
  std::string small = fs::join(dir.path(), "small"), large = fs::join(dir.path(), "large");
  ASSERT_TRUE(fs::write_file_atomic(small, "abc").ok());
  std::string big(100000, 'x');
  big[99999] = 'y';
  ASSERT_TRUE(fs::write_file_atomic(large, big).ok());
  EXPECT_EQ(read_own_file(small), "abc");
  EXPECT_EQ(read_own_file(large, 16), big) << "a file larger than the first read is read whole";
  EXPECT_EQ(read_own_file(fs::join(dir.path(), "empty-not-there")), std::nullopt);
  ASSERT_TRUE(fs::write_file_atomic(small, "").ok());
  EXPECT_EQ(read_own_file(small), "");
}

// The journal stats a path once: a second look (the resolver reads the
// Earthfile it probed) keeps the first stat, so a change between the two
// is seen rather than hidden.
TEST(JournalNotes, ASecondLookKeepsTheFirstStatSoALaterChangeMisses) {
  fs::TempDir dir{"/tmp", "earth-jnotes"};
  std::string f = fs::join(dir.path(), "Earthfile");
  ASSERT_TRUE(fs::write_file_atomic(f, "a").ok());
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t later =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() + 60'000'000'000;
  JournalRecorder rec(later); // every stat is older than the build: none is racy
  rec.note_path(f, true);
  ASSERT_TRUE(fs::write_file_atomic(f, "bb").ok());
  rec.note_path(f, true);
  // Kept with its first stat, the file no longer matches it: finish sees
  // the journal would miss and writes none (with the second stat kept, it
  // would have written one that hides the change).
  EXPECT_FALSE(rec.finish({}, {})) << "the file changed after its first look";
  EXPECT_NE(rec.refused().find(f), std::string::npos) << rec.refused();
}

TEST(JournalNotes, NothingIsKeptOnceRefused) {
  fs::TempDir dir{"/tmp", "earth-jnotes"};
  JournalRecorder rec(0);
  rec.refuse("a target was not reused whole");
  rec.note_path(dir.path(), false);
  rec.note(fs::join(dir.path(), "x"), false, PathStat{});
  EXPECT_FALSE(rec.finish({}, {}));
  EXPECT_EQ(rec.refused(), "a target was not reused whole");
}

} // namespace
} // namespace earth::build
