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
using earth::store::SnapshotStore;

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

// A step's rename is left to the next step's syncfs (which covers it) or to
// flush(); a step synced per entry (no file data) first makes the pending
// renames durable, so it is never durable without the steps before it.
TEST(Snapshots, AStepsRenameIsCoveredByTheNextSyncOrTheFlush) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  auto steps = SnapshotStore::open(dir.path(), "steps").value();
  auto with_data = [](const std::string& tmp) {
    return fs::write_file_atomic(fs::join(tmp, "file"), "x");
  };
  auto no_data = [](const std::string& tmp) { return fs::make_dirs(fs::join(tmp, "d")); };
  ASSERT_TRUE(steps.ensure(Digest::of("one"), with_data).ok());
  EXPECT_EQ(steps.unsynced_renames(), 1u);
  ASSERT_TRUE(steps.ensure(Digest::of("two"), with_data).ok()); // its syncfs covers "one"
  EXPECT_EQ(steps.unsynced_renames(), 1u);
  ASSERT_TRUE(steps.ensure(Digest::of("three"), no_data).ok()); // "two" synced first
  EXPECT_EQ(steps.unsynced_renames(), 1u);
  ASSERT_TRUE(steps.flush().ok());
  EXPECT_EQ(steps.unsynced_renames(), 0u);
  ASSERT_TRUE(steps.flush().ok());                              // nothing pending: nothing to do
  ASSERT_TRUE(steps.ensure(Digest::of("two"), with_data).ok()); // recorded: no rename
  EXPECT_EQ(steps.unsynced_renames(), 0u);

  auto snaps = SnapshotStore::open(dir.path()).value();
  ASSERT_TRUE(snaps.ensure(Digest::of("layer"), with_data).ok());
  EXPECT_EQ(snaps.unsynced_renames(), 0u); // synced at once
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

TEST(Snapshots, ConcurrentEnsureUnpacksOnce) {
  fs::TempDir dir("/tmp", "earth-snap-test-");
  Digest id = Digest::of("shared");
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto snaps = SnapshotStore::open(dir.path()).value();
      auto r = snaps.ensure(id, [&](const std::string& tmp) -> Result<void> {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return fs::write_file_atomic(fs::join(tmp, "f"), "y");
      });
      EXPECT_TRUE(r.ok());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(calls.load(), 1);
  auto snaps = SnapshotStore::open(dir.path()).value();
  ASSERT_TRUE(snaps.remove(id).ok());
  EXPECT_FALSE(snaps.has(id));
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
  EXPECT_EQ(other
                .ensure(id,
                        [&](const std::string&) -> Result<void> {
                          ++calls;
                          return {};
                        })
                .value(),
            empty);
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
