#include "earth/store/empty_steps.h"
#include "earth/store/snapshots.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"

namespace fs = earth::fs;
using earth::Digest;
using earth::Failure;
using earth::Result;
using earth::store::kRecordedSuffix;
using earth::store::SnapshotStore;

namespace {

// A fill that leaves its dir empty and counts its calls.
SnapshotStore::Fill counting(int& calls) {
  return [&calls](const std::string&) -> Result<void> {
    ++calls;
    return {};
  };
}

} // namespace

TEST(Snapshots, EnsureFillsOnceAndReuses) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  auto snaps = SnapshotStore::open(dir.path()).value();
  Digest id = Digest::of("layer");
  int calls = 0;
  auto fill = [&](const std::string& tmp) -> Result<void> {
    ++calls;
    EXPECT_FALSE(snaps.has(id)); // never visible while being filled
    return fs::write_file_atomic(fs::join(tmp, "file"), "x");
  };
  auto path = snaps.ensure(id, fill).value();
  EXPECT_EQ(path, dir.path() + "/snapshots/" + id.hex());
  EXPECT_EQ(fs::read_file(fs::join(path, "file")).value(), "x");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(snaps.ensure(id, fill).value(), path);
  EXPECT_EQ(calls, 1);
}

// A step dir is at its place as soon as ensure returns (later steps stack
// on it at once), and recorded by its marker after a sync in the background:
// settle() waits for that.
TEST(Snapshots, AStepIsRecordedByItsMarkerOnceSynced) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  auto steps = SnapshotStore::open(dir.path(), "steps").value();
  auto with_data = [](const std::string& tmp) {
    return fs::write_file_atomic(fs::join(tmp, "file"), "x");
  };
  auto no_data = [](const std::string& tmp) { return fs::make_dirs(fs::join(tmp, "d")); };
  Digest one = Digest::of("one"), two = Digest::of("two"), three = Digest::of("three");
  auto path = steps.ensure(one, with_data).value();
  EXPECT_EQ(path, dir.path() + "/steps/" + one.hex());
  EXPECT_EQ(fs::read_file(fs::join(path, "file")).value(), "x");
  ASSERT_TRUE(steps.ensure(two, with_data).ok());
  ASSERT_TRUE(steps.ensure(three, no_data).ok()); // synced by an fsync of each entry
  ASSERT_TRUE(steps.settle().ok());
  for (const auto& id : {one, two, three}) {
    EXPECT_TRUE(fs::exists(dir.path() + "/steps/" + id.hex() + kRecordedSuffix));
    EXPECT_TRUE(steps.has(id));
  }
  EXPECT_EQ(steps.unrecorded(), 0u);
  ASSERT_TRUE(steps.settle().ok()); // nothing pending: nothing to do
  int calls = 0;
  ASSERT_TRUE(steps.ensure(two, counting(calls)).ok());
  EXPECT_EQ(calls, 0) << "recorded: not filled again";

  auto snaps = SnapshotStore::open(dir.path()).value();
  ASSERT_TRUE(snaps.ensure(Digest::of("layer"), with_data).ok());
  EXPECT_EQ(snaps.unrecorded(), 0u); // recorded at once
  EXPECT_FALSE(
      fs::exists(dir.path() + "/snapshots/" + Digest::of("layer").hex() + kRecordedSuffix));
}

// A step dir without its marker is what a process killed before the sync
// left: not a hit, and filled again from scratch.
TEST(Snapshots, AStepDirWithoutItsMarkerIsFilledAgain) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  Digest id = Digest::of("killed");
  auto steps = SnapshotStore::open(dir.path(), "steps").value();
  std::string stale = dir.path() + "/steps/" + id.hex();
  ASSERT_TRUE(fs::make_dirs(stale).ok());
  ASSERT_TRUE(fs::write_file_atomic(stale + "/half", "garbage").ok());
  EXPECT_FALSE(steps.has(id));
  auto path = steps
                  .ensure(id,
                          [](const std::string& tmp) {
                            return fs::write_file_atomic(fs::join(tmp, "whole"), "y");
                          })
                  .value();
  ASSERT_TRUE(steps.settle().ok());
  EXPECT_EQ(fs::list_dir(path).value(), std::vector<std::string>{"whole"});
  EXPECT_TRUE(steps.has(id));
  // A marker whose dir was removed by hand records nothing.
  ASSERT_TRUE(fs::remove_all(path).ok());
  EXPECT_FALSE(steps.has(id));
  ASSERT_TRUE(steps.remove(id).ok());
  EXPECT_FALSE(fs::exists(path + kRecordedSuffix));
}

TEST(Snapshots, FailedFillLeavesNothing) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  auto snaps = SnapshotStore::open(dir.path()).value();
  Digest id = Digest::of("bad layer");
  auto r = snaps.ensure(id, [&](const std::string& tmp) -> Result<void> {
    (void)fs::write_file_atomic(fs::join(tmp, "half"), "x");
    return Failure{"corrupt layer"};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "corrupt layer");
  EXPECT_FALSE(snaps.has(id));
  // Only this process's (empty) temp dir and its lock remain.
  auto ls = earth::run_process({"find", fs::join(dir.path(), "tmp"), "-mindepth", "2"}).value();
  EXPECT_EQ(ls.out, "");
}

// Four stores (four processes) making the same entry: filled once; the
// others wait on its lock, which a step keeps until its marker exists, and
// then see it whole.
TEST(Snapshots, ConcurrentEnsureFillsOnce) {
  for (const char* kind : {"snapshots", "steps"}) {
    fs::TempDir dir("/tmp", "earth-snap-test-");
    Digest id = Digest::of("shared");
    std::atomic<int> calls{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        auto store = SnapshotStore::open(dir.path(), kind).value();
        auto r = store.ensure(id, [&](const std::string& tmp) -> Result<void> {
          ++calls;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return fs::write_file_atomic(fs::join(tmp, "f"), "y");
        });
        ASSERT_TRUE(r.ok()) << kind;
        EXPECT_EQ(fs::read_file(fs::join(*r, "f")).value(), "y") << kind;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(calls.load(), 1) << kind;
    auto store = SnapshotStore::open(dir.path(), kind).value();
    EXPECT_TRUE(store.has(id)) << kind;
    ASSERT_TRUE(store.remove(id).ok());
    EXPECT_FALSE(store.has(id)) << kind;
    EXPECT_FALSE(fs::exists(dir.path() + "/steps/" + id.hex() + kRecordedSuffix));
  }
}

namespace {

using earth::store::EmptySteps;

// A steps store recording empty fills, as the engine opens it.
SnapshotStore empty_recording_store(const std::string& cache, std::string& empty_dir) {
  auto steps = SnapshotStore::open(cache, "steps").value();
  auto none = [](const std::string&) -> Result<void> { return {}; };
  empty_dir = steps.ensure(Digest::of("the empty layer"), none).value();
  steps.record_empty_fills(empty_dir, EmptySteps::open(cache).value());
  return steps;
}

} // namespace

TEST(Snapshots, AnEmptyFillIsRecordedWithoutADirOfItsOwn) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  std::string empty;
  auto steps = empty_recording_store(dir.path(), empty);
  Digest id = Digest::of("RUN true");
  auto none = [](const std::string&) -> Result<void> { return {}; };
  EXPECT_EQ(steps.ensure(id, none).value(), empty);
  EXPECT_FALSE(fs::exists(dir.path() + "/steps/" + id.hex()));
  EXPECT_TRUE(steps.has(id));
  EXPECT_EQ(steps.path(id), empty);
  auto log = fs::read_file(dir.path() + "/steps-empty").value();
  EXPECT_EQ(log, std::string(EmptySteps::kHeader) + id.hex() + "\n");
  // Another process sees the record, and never fills that step again.
  std::string empty2;
  auto other = empty_recording_store(dir.path(), empty2);
  EXPECT_EQ(empty2, empty);
  EXPECT_TRUE(other.has(id));
  int calls = 0;
  EXPECT_EQ(other.ensure(id, counting(calls)).value(), empty);
  EXPECT_EQ(calls, 0);
}

TEST(Snapshots, AFillThatSaysAnythingKeepsItsDir) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  std::string empty;
  auto steps = empty_recording_store(dir.path(), empty);
  Digest a = Digest::of("a"), b = Digest::of("b"), c = Digest::of("c");
  // An empty fill first: its temp dir is reused by the next fill.
  (void)steps.ensure(Digest::of("empty"), [](const std::string&) -> Result<void> { return {}; });
  auto file =
      steps
          .ensure(a,
                  [](const std::string& d) { return fs::write_file_atomic(fs::join(d, "f"), ""); })
          .value();
  EXPECT_EQ(file, dir.path() + "/steps/" + a.hex());
  EXPECT_EQ(fs::list_dir(file).value(), std::vector<std::string>{"f"});
  auto mode = steps
                  .ensure(b,
                          [](const std::string& d) -> Result<void> {
                            ::chmod(d.c_str(), 0700); // RUN chmod 700 /
                            return {};
                          })
                  .value();
  EXPECT_EQ(mode, dir.path() + "/steps/" + b.hex());
  struct stat st {};
  ASSERT_EQ(::stat(mode.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto sub =
      steps.ensure(c, [](const std::string& d) { return fs::make_dirs(fs::join(d, "x")); }).value();
  EXPECT_EQ(sub, dir.path() + "/steps/" + c.hex());
  auto log = fs::read_file(dir.path() + "/steps-empty").value();
  EXPECT_EQ(log, std::string(EmptySteps::kHeader) + Digest::of("empty").hex() + "\n");
}

TEST(EmptySteps, TornLinesAreSkippedAndAnotherVersionIsLeftAlone) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  std::string path = dir.path() + "/steps-empty";
  Digest a = Digest::of("a"), b = Digest::of("b");
  ASSERT_TRUE(fs::write_file_atomic(path, std::string(EmptySteps::kHeader) + a.hex().substr(0, 20) +
                                              b.hex() + "\n" + a.hex() + "\n")
                  .ok());
  auto log = EmptySteps::open(dir.path()).value();
  EXPECT_TRUE(log->has(a));
  EXPECT_FALSE(log->has(b)); // on the torn line
  EXPECT_TRUE(log->add(b));
  EXPECT_TRUE(EmptySteps::open(dir.path()).value()->has(b));

  ASSERT_TRUE(fs::write_file_atomic(path, "earth-empty-steps 2\n" + a.hex() + "\n").ok());
  auto other = EmptySteps::open(dir.path()).value();
  EXPECT_FALSE(other->has(a));
  EXPECT_FALSE(other->add(b));
  EXPECT_EQ(fs::read_file(path).value(), "earth-empty-steps 2\n" + a.hex() + "\n");
}
