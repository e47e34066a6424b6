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
