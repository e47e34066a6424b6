#include "earth/store/cleanup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "earth/base/fs.h"

namespace fs = earth::fs;

TEST(Cleanup, RemovesOnlyStaleTemps) {
  fs::TempDir dir("/tmp", "earth-cleanup-test-");
  ASSERT_TRUE(fs::make_dirs(dir.path() + "/tmp/old-dir/sub").ok());
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/tmp/old-file", "x").ok());
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/tmp/new-file", "x").ok());
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() + "/tmp/old-dir").c_str(), old_times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() + "/tmp/old-file").c_str(), old_times, 0), 0);
  EXPECT_EQ(earth::store::remove_stale_temps(dir.path()).value(), 2);
  EXPECT_TRUE(fs::exists(dir.path() + "/tmp/new-file"));
  EXPECT_FALSE(fs::exists(dir.path() + "/tmp/old-dir"));
  EXPECT_EQ(earth::store::remove_stale_temps(dir.path() + "/missing").value(), 0);
}

// A temp dir whose owner died (its lock is free) goes at once, whatever its
// age; a live owner's dir stays, however old.
TEST(Cleanup, DeadOwnersTempDirGoesAtOnce) {
  fs::TempDir dir("/tmp", "earth-cleanup-test-");
  auto own = earth::store::process_temp_dir(dir.path());
  ASSERT_TRUE(own.ok()) << own.error();
  EXPECT_EQ(fs::dirname(*own), dir.path() + "/tmp");
  ASSERT_TRUE(fs::write_file_atomic(*own + "/blob-1", "x").ok());
  ASSERT_TRUE(fs::make_dirs(dir.path() + "/tmp/proc-1-2/snapshot-x/d").ok());
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/tmp/proc-1-2.lock", "").ok());
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, own->c_str(), old_times, 0), 0);
  EXPECT_EQ(earth::store::remove_stale_temps(dir.path()).value(), 1);
  EXPECT_FALSE(fs::exists(dir.path() + "/tmp/proc-1-2"));
  EXPECT_FALSE(fs::exists(dir.path() + "/tmp/proc-1-2.lock"));
  EXPECT_TRUE(fs::exists(*own + "/blob-1"));
  EXPECT_EQ(earth::store::process_temp_dir(dir.path()).value(), *own); // one per process
}
