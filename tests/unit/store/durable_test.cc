#include "earth/store/durable.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "earth/base/fs.h"

namespace fs = earth::fs;
using earth::store::kMaxMetadataOnlyEntries;
using earth::store::metadata_only_tree;
using earth::store::sync_tree;

TEST(Durable, AnEmptyTreeIsSyncedDirByDir) {
  fs::TempDir dir("/tmp", "earth-durable-test-");
  auto paths = metadata_only_tree(dir.path());
  ASSERT_TRUE(paths);
  EXPECT_EQ(*paths, std::vector<std::string>{dir.path()});
  EXPECT_TRUE(sync_tree(dir.path()));
}

TEST(Durable, DirectoriesAndEmptyFilesAreMetadataOnly) {
  fs::TempDir dir("/tmp", "earth-durable-test-");
  ASSERT_TRUE(fs::make_dirs(fs::join(dir.path(), "a/b")));
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "a/empty"), ""));
  auto paths = metadata_only_tree(dir.path());
  ASSERT_TRUE(paths);
  std::sort(paths->begin(), paths->end());
  EXPECT_EQ(*paths, (std::vector<std::string>{dir.path(), fs::join(dir.path(), "a"),
                                              fs::join(dir.path(), "a/b"),
                                              fs::join(dir.path(), "a/empty")}));
  EXPECT_TRUE(sync_tree(dir.path()));
}

TEST(Durable, FileDataSymlinksAndBigTreesSyncTheFilesystem) {
  fs::TempDir data("/tmp", "earth-durable-test-");
  ASSERT_TRUE(fs::write_file_atomic(fs::join(data.path(), "f"), "x"));
  EXPECT_FALSE(metadata_only_tree(data.path()));
  EXPECT_TRUE(sync_tree(data.path()));

  fs::TempDir link("/tmp", "earth-durable-test-");
  ASSERT_EQ(::symlink("nowhere", fs::join(link.path(), "l").c_str()), 0);
  EXPECT_FALSE(metadata_only_tree(link.path()));
  EXPECT_TRUE(sync_tree(link.path()));

  fs::TempDir big("/tmp", "earth-durable-test-");
  for (size_t i = 0; i < kMaxMetadataOnlyEntries; ++i)
    ASSERT_TRUE(fs::make_dirs(fs::join(big.path(), "d" + std::to_string(i))));
  EXPECT_FALSE(metadata_only_tree(big.path()));
}

TEST(Durable, AMissingTreeIsAnError) {
  EXPECT_FALSE(sync_tree("/nonexistent/earth-durable-test"));
}
