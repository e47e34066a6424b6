#include "earth/store/layout.h"

#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/store/blob_store.h"
#include "earth/store/snapshots.h"

namespace fs = earth::fs;
using namespace earth::store;

TEST(Layout, NewCacheGetsTheFile) {
  fs::TempDir dir("/tmp", "earth-layout-test-");
  ASSERT_TRUE(BlobStore::open(dir.path()).ok());
  EXPECT_EQ(fs::read_file(dir.path() + "/layout").value(), "earth-cache 1\n");
  EXPECT_EQ(fs::read_file(dir.path() + "/usage").value(), "earth-usage 1\n")
      << "a new cache records every entry from the start";
}

TEST(Layout, OlderCacheGetsTheFileButNoUseRecords) {
  fs::TempDir dir("/tmp", "earth-layout-test-");
  ASSERT_TRUE(fs::make_dirs(dir.path() + "/steps/x").ok());
  ASSERT_TRUE(check_layout(dir.path()).ok());
  EXPECT_TRUE(fs::exists(dir.path() + "/layout"));
  EXPECT_FALSE(fs::exists(dir.path() + "/usage")) << "so the first size check measures it";
}

TEST(Layout, AnotherLayoutIsRefusedWithThePathAndARemedy) {
  fs::TempDir dir("/tmp", "earth-layout-test-");
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/layout", "earth-cache 2\n").ok());
  auto blobs = BlobStore::open(dir.path());
  ASSERT_FALSE(blobs.ok());
  EXPECT_NE(blobs.error().find(dir.path() + "/layout: this cache has layout 'earth-cache 2'"),
            std::string::npos)
      << blobs.error();
  EXPECT_NE(blobs.error().find("EARTH_CACHE_DIR"), std::string::npos);
  EXPECT_FALSE(SnapshotStore::open(dir.path(), "steps").ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/steps")) << "nothing is written into it";
}
