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
  EXPECT_EQ(fs::read_file(dir.path() + "/layout").value(), "earth-cache 2\n");
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

// Layout 1 recorded a step dir by its name alone, layout 2 by its marker:
// every step dir of a layout-1 cache (or of one older than the file) is
// recorded, so each gets its marker and stays a hit.
TEST(Layout, Layout1StepsGetTheirMarkers) {
  for (bool with_file : {true, false}) {
    fs::TempDir dir("/tmp", "earth-layout-test-");
    std::string hex = earth::Digest::of("a step").hex();
    ASSERT_TRUE(fs::make_dirs(dir.path() + "/steps/" + hex + "/usr").ok());
    if (with_file)
      ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/layout", "earth-cache 1\n").ok());
    auto steps = SnapshotStore::open(dir.path(), "steps");
    ASSERT_TRUE(steps.ok()) << steps.error();
    EXPECT_EQ(fs::read_file(dir.path() + "/layout").value(), "earth-cache 2\n");
    EXPECT_TRUE(fs::exists(dir.path() + "/steps/" + hex + kRecordedSuffix));
    EXPECT_TRUE(steps->has(earth::Digest::of("a step")));
  }
}

TEST(Layout, AnotherLayoutIsRefusedWithThePathAndARemedy) {
  fs::TempDir dir("/tmp", "earth-layout-test-");
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/layout", "earth-cache 3\n").ok());
  auto blobs = BlobStore::open(dir.path());
  ASSERT_FALSE(blobs.ok());
  EXPECT_NE(blobs.error().find(dir.path() + "/layout: this cache has layout 'earth-cache 3'"),
            std::string::npos)
      << blobs.error();
  EXPECT_NE(blobs.error().find("EARTH_CACHE_DIR"), std::string::npos);
  EXPECT_FALSE(SnapshotStore::open(dir.path(), "steps").ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/steps")) << "nothing is written into it";
}
