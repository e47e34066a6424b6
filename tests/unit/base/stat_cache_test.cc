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
  for (char version : {1, 3}) { // version 1 (no appended records) and an unknown one
    std::string other = bytes;
    other[16] = version; // the version, then the checksum made to match
    other.resize(other.size() - Digest::size);
    Digest sum = Digest::of(other);
    other.append(reinterpret_cast<const char*>(sum.bytes().data()), Digest::size);
    EXPECT_FALSE(fresh.decode(other));
    EXPECT_EQ(fresh.size(), 1u); // a failed decode keeps what was there
  }
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

// A build that hashed a few files appends a record each instead of
// rewriting the index; the next load sees them, later records winning.
TEST_F(StatCacheTest, ChangedEntriesAreAppended) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  {
    auto cache = StatCache::open(index, disk, clock);
    ASSERT_TRUE(cache->digest("/p/a.txt", st).ok());
    ASSERT_TRUE(cache->save().ok()); // no index yet: written whole
  }
  std::string before = fs::read_file(index).value();
  size_t whole = before.size();
  StatKey changed = st;
  changed.mtime_ns += 1;
  changed.ctime_ns += 1;
  {
    auto cache = StatCache::open(index, disk, clock);
    disk.add_file("/p/b.txt", "bee");
    ASSERT_TRUE(cache->digest("/p/b.txt", st).ok());
    disk.add_file("/p/a.txt", "new");
    ASSERT_TRUE(cache->digest("/p/a.txt", changed).ok());
    ASSERT_TRUE(cache->save().ok());
  }
  std::string bytes = fs::read_file(index).value();
  EXPECT_EQ(bytes.substr(0, whole), before); // kept as it was
  EXPECT_EQ(bytes.size(), whole + StatCache::encode_record("/p/a.txt", changed, Digest()).size() +
                              StatCache::encode_record("/p/b.txt", st, Digest()).size());
  auto again = StatCache::open(index, disk, clock);
  EXPECT_EQ(again->appended(), 2u);
  EXPECT_FALSE(again->torn());
  EXPECT_EQ(again->size(), 2u);
  int reads = disk.reads();
  EXPECT_EQ(again->digest("/p/a.txt", changed).value(), Digest::of("new"));
  EXPECT_EQ(again->digest("/p/b.txt", st).value(), Digest::of("bee"));
  EXPECT_EQ(disk.reads(), reads);
  EXPECT_FALSE(again->digest("/p/a.txt", st).value() == Digest::of("hello")); // old stat: read
  EXPECT_EQ(disk.reads(), reads + 1);
}

// A path recorded, made racy and recorded again in one build is appended
// once, with what it was last recorded as.
TEST_F(StatCacheTest, APathRecordedTwiceIsAppendedOnce) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  {
    auto cache = StatCache::open(index, disk, clock);
    disk.add_file("/p/b.txt", "bee");
    ASSERT_TRUE(cache->digest("/p/b.txt", st).ok());
    ASSERT_TRUE(cache->save().ok()); // no index yet: written whole
  }
  size_t whole = fs::read_file(index).value().size();
  StatKey later = st;
  later.mtime_ns = later.ctime_ns = 150 * kSec;
  {
    auto cache = StatCache::open(index, disk, clock);
    ASSERT_TRUE(cache->digest("/p/a.txt", st).ok());
    int64_t was = now;
    now = later.mtime_ns + 1000; // a.txt written again just now: racy, dropped
    ASSERT_TRUE(cache->digest("/p/a.txt", later).ok());
    now = was;
    disk.add_file("/p/a.txt", "new");
    ASSERT_TRUE(cache->digest("/p/a.txt", later).ok()); // recorded again
    ASSERT_TRUE(cache->save().ok());
  }
  EXPECT_EQ(fs::read_file(index).value().size(),
            whole + StatCache::encode_record("/p/a.txt", later, Digest()).size());
  auto again = StatCache::open(index, disk, clock);
  EXPECT_EQ(again->appended(), 1u);
  int reads = disk.reads();
  EXPECT_EQ(again->digest("/p/a.txt", later).value(), Digest::of("new"));
  EXPECT_EQ(disk.reads(), reads);
}

// A record cut short or damaged (a power cut during the append) is dropped
// with everything after it; the compacted entries and the records before it
// stay, and the next save rewrites the index whole.
TEST_F(StatCacheTest, ATornTailIsDropped) {
  StatCache cache({}, disk, clock);
  ASSERT_TRUE(cache.digest("/p/a.txt", st).ok());
  std::string whole = cache.encode();
  std::string one = StatCache::encode_record("/p/one", st, Digest::of("1"));
  std::string two = StatCache::encode_record("/p/two", st, Digest::of("2"));
  StatCache fresh({}, disk, clock);
  ASSERT_TRUE(fresh.decode(whole + one + two));
  EXPECT_EQ(fresh.size(), 3u);
  EXPECT_FALSE(fresh.torn());
  for (size_t cut = 1; cut < two.size(); ++cut) {
    ASSERT_TRUE(fresh.decode(whole + one + two.substr(0, cut))) << cut;
    EXPECT_EQ(fresh.size(), 2u) << cut;
    EXPECT_EQ(fresh.appended(), 1u);
    EXPECT_TRUE(fresh.torn());
  }
  std::string flipped = one;
  flipped[10] ^= 1;
  ASSERT_TRUE(fresh.decode(whole + flipped + two));
  EXPECT_EQ(fresh.size(), 1u); // the damaged record and the one after it
  EXPECT_TRUE(fresh.torn());

  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  ASSERT_TRUE(fs::write_file_atomic(index, whole + one + two.substr(0, 5)).ok());
  {
    auto torn = StatCache::open(index, disk, clock);
    disk.add_file("/p/b.txt", "bee");
    ASSERT_TRUE(torn->digest("/p/b.txt", st).ok());
    ASSERT_TRUE(torn->save().ok());
  }
  auto again = StatCache::open(index, disk, clock);
  EXPECT_FALSE(again->torn());
  EXPECT_EQ(again->appended(), 0u); // rewritten whole
  EXPECT_EQ(again->size(), 3u);     // a.txt, one, b.txt
}

// Appended records are folded into a rewrite once they outnumber half the
// compacted entries plus the slack, so loads stay short.
TEST_F(StatCacheTest, AppendedRecordsAreCompacted) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  size_t most = 0;
  for (size_t i = 0; i < StatCache::kAppendSlack + 10; ++i) {
    auto cache = StatCache::open(index, disk, clock);
    most = std::max(most, cache->appended());
    std::string path = "/p/f" + std::to_string(i);
    disk.add_file(path, "x");
    ASSERT_TRUE(cache->digest(path, st).ok());
    ASSERT_TRUE(cache->save().ok());
  }
  auto last = StatCache::open(index, disk, clock);
  EXPECT_EQ(last->size(), StatCache::kAppendSlack + 10);
  EXPECT_LE(most, StatCache::kAppendSlack + 1);
  EXPECT_LT(last->appended(), 20u); // compacted a few saves ago
}

// Another process's rewrite in an older format is not appended to.
TEST_F(StatCacheTest, AnIndexRewrittenInAnotherVersionIsNotAppendedTo) {
  fs::TempDir dir("/tmp", "earth-stat-cache-test");
  std::string index = fs::join(dir.path(), "stat-cache");
  {
    auto cache = StatCache::open(index, disk, clock);
    ASSERT_TRUE(cache->digest("/p/a.txt", st).ok());
    ASSERT_TRUE(cache->save().ok());
  }
  auto cache = StatCache::open(index, disk, clock);
  std::string other = fs::read_file(index).value();
  other[16] = 1;
  ASSERT_TRUE(fs::write_file_atomic(index, other).ok());
  disk.add_file("/p/b.txt", "bee");
  ASSERT_TRUE(cache->digest("/p/b.txt", st).ok());
  ASSERT_TRUE(cache->save().ok());
  auto again = StatCache::open(index, disk, clock);
  EXPECT_EQ(again->size(), 2u); // rewritten whole, in this version
  EXPECT_EQ(again->appended(), 0u);
}

} // namespace
} // namespace earth
