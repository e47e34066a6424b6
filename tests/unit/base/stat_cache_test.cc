#include "earth/base/stat_cache.h"

#include <gtest/gtest.h>

#include "earth/base/fs.h"

namespace earth {
namespace {

constexpr int64_t kSec = 1000000000;

// A file last changed at t = 100 s (with nanoseconds), hashed at `now`.
struct StatCacheTest : ::testing::Test {
  VirtualDisk disk;
  int64_t now = 200 * kSec;
  StatCache::Clock clock = [this] { return now; };
  StatKey st{1, 42, 5, 100 * kSec + 123, 100 * kSec + 123};
  StatCacheTest() { disk.add_file("/p/a.txt", "hello"); }
};

TEST_F(StatCacheTest, AnUnchangedFileIsReadOnce) {
  StatCache cache({}, disk, clock);
  auto first = cache.digest("/p/a.txt", st);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, Digest::of("hello"));
  EXPECT_EQ(cache.digest("/p/a.txt", st).value(), *first);
  EXPECT_EQ(disk.reads(), 1);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST_F(StatCacheTest, AnyStatFieldChangedReadsAgain) {
  StatCache cache({}, disk, clock);
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  int reads = disk.reads();
  for (auto change : std::vector<std::function<void(StatKey&)>>{
           [](StatKey& k) { k.dev = 2; }, [](StatKey& k) { k.ino = 43; },
           [](StatKey& k) { k.size = 6; }, [](StatKey& k) { k.mtime_ns += 1; },
           [](StatKey& k) { k.ctime_ns += 1; }}) {
    StatKey other = st;
    change(other);
    disk.add_file("/p/a.txt", "world");
    EXPECT_EQ(cache.digest("/p/a.txt", other).value(), Digest::of("world"));
    EXPECT_EQ(disk.reads(), ++reads);
    disk.add_file("/p/a.txt", "hello");
    EXPECT_EQ(cache.digest("/p/a.txt", st).value(), Digest::of("hello"));
    EXPECT_EQ(disk.reads(), ++reads);
  }
}

// git's racy rule: a file changed within the clock's granularity of the
// moment it was hashed may change again with the same stat.
TEST_F(StatCacheTest, ARacyFileIsNotTrusted) {
  StatCache cache({}, disk, clock);
  now = st.mtime_ns + 5000000; // 5 ms after the write
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  disk.add_file("/p/a.txt", "HELLO"); // same size, same stat
  EXPECT_EQ(cache.digest("/p/a.txt", st).value(), Digest::of("HELLO"));
  EXPECT_EQ(disk.reads(), 2);
  EXPECT_EQ(cache.size(), 0u);
  now = st.mtime_ns + kSec; // long after: recorded, then trusted
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  EXPECT_EQ(disk.reads(), 3);
}

TEST_F(StatCacheTest, WholeSecondTimestampsHaveAWiderWindow) {
  StatCache cache({}, disk, clock);
  StatKey coarse{1, 42, 5, 100 * kSec, 100 * kSec};
  now = 101 * kSec; // a second later: a 1 s-granular filesystem may still reuse it
  ASSERT_TRUE(cache.digest("/p/a.txt", coarse).ok());
  EXPECT_EQ(cache.size(), 0u);
  now = 103 * kSec;
  ASSERT_TRUE(cache.digest("/p/a.txt", coarse).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(StatCacheTest, AMissingFileIsAnError) {
  StatCache cache({}, disk, clock);
  EXPECT_FALSE(cache.digest("/p/nope", st).ok());
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(StatCacheTest, SavedAndLoadedOnce) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  {
    auto cache = StatCache::open(index, disk, clock);
    ASSERT_TRUE(cache->digest("/p/a.txt", st).ok());
    ASSERT_TRUE(cache->save().ok());
  }
  auto again = StatCache::open(index, disk, clock);
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(again->digest("/p/a.txt", st).value(), Digest::of("hello"));
  EXPECT_EQ(disk.reads(), 1);
}

TEST_F(StatCacheTest, DamagedOrOtherVersionIndexesAreIgnored) {
  StatCache cache({}, disk, clock);
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  std::string bytes = cache.encode();
  StatCache fresh({}, disk, clock);
  ASSERT_TRUE(fresh.decode(bytes));
  EXPECT_EQ(fresh.size(), 1u);
  std::string flipped = bytes;
  flipped[40] ^= 1;
  EXPECT_FALSE(fresh.decode(flipped));
  EXPECT_FALSE(fresh.decode(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(fresh.decode(""));
  std::string v2 = bytes;
  v2[16] = 2; // the version, then the checksum made to match
  v2.resize(v2.size() - Digest::size);
  Digest sum = Digest::of(v2);
  v2.append(reinterpret_cast<const char*>(sum.bytes().data()), Digest::size);
  EXPECT_FALSE(fresh.decode(v2));
  EXPECT_EQ(fresh.size(), 1u); // a failed decode keeps what was there
}

// Entries nobody used in this run are dropped when they outnumber the used
// ones by more than the slack.
TEST_F(StatCacheTest, UnusedEntriesArePrunedWhenTheyDominate) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  {
    auto cache = StatCache::open(index, disk, clock);
    for (int i = 0; i < 5; ++i) {
      disk.add_file("/p/f" + std::to_string(i), "x");
      ASSERT_TRUE(cache->digest("/p/f" + std::to_string(i), st).ok());
    }
    ASSERT_TRUE(cache->save(0).ok());
  }
  {
    auto cache = StatCache::open(index, disk, clock);
    ASSERT_TRUE(cache->digest("/p/a.txt", st).ok()); // one used, five not
    ASSERT_TRUE(cache->save(10).ok());               // within the slack: kept
  }
  EXPECT_EQ(StatCache::open(index, disk, clock)->size(), 6u);
  {
    auto cache = StatCache::open(index, disk, clock);
    disk.add_file("/p/new", "y");
    ASSERT_TRUE(cache->digest("/p/new", st).ok());
    ASSERT_TRUE(cache->save(2).ok()); // six unused > one used + 2: pruned
  }
  EXPECT_EQ(StatCache::open(index, disk, clock)->size(), 1u);
}

} // namespace
} // namespace earth
