#include "earth/store/image_index.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>
#include <vector>

#include "earth/base/fs.h"

namespace fs = earth::fs;
using earth::Digest;
using earth::store::ImageIndex;

TEST(ImageIndex, SetGetRemove) {
  fs::TempDir dir("/tmp", "earth-index-test-");
  ImageIndex index(dir.path());
  EXPECT_TRUE(index.load().value().empty());
  ASSERT_TRUE(index.set("docker.io/library/busybox:latest", Digest::of("m1")).ok());
  ASSERT_TRUE(index.set("localhost:5000/x:y", Digest::of("m2")).ok());
  EXPECT_EQ(*index.get("docker.io/library/busybox:latest").value(), Digest::of("m1"));
  EXPECT_FALSE(index.get("nope").value().has_value());
  EXPECT_TRUE(index.remove("localhost:5000/x:y").value());
  EXPECT_FALSE(index.remove("localhost:5000/x:y").value());
  EXPECT_EQ(index.load().value().size(), 1u);
  auto text = fs::read_file(fs::join(dir.path(), "images.json")).value();
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos);
}

TEST(ImageIndex, RefusesUnknownVersion) {
  fs::TempDir dir("/tmp", "earth-index-test-");
  std::string file = fs::join(dir.path(), "images.json");
  ASSERT_TRUE(fs::write_file_atomic(file, R"({"version": 99, "images": {}})").ok());
  auto r = ImageIndex(dir.path()).load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("version"), std::string::npos);
  EXPECT_FALSE(ImageIndex(dir.path()).set("a", Digest::of("a")).ok());
  EXPECT_FALSE(fs::exists(file + ".damaged")); // another version is not damage
}

// Damage (garbage, truncation) is repaired: the readable names are kept, the
// damaged file is kept aside, and writers carry on.
TEST(ImageIndex, RepairsDamagedFile) {
  fs::TempDir dir("/tmp", "earth-index-test-");
  std::string file = fs::join(dir.path(), "images.json");
  ASSERT_TRUE(fs::write_file_atomic(file, "{garbage").ok());
  EXPECT_TRUE(ImageIndex(dir.path()).load().value().empty());
  EXPECT_EQ(fs::read_file(file + ".damaged").value(), "{garbage");
  ImageIndex index(dir.path());
  ASSERT_TRUE(index.set("a", Digest::of("a")).ok());
  ASSERT_TRUE(index.set("b", Digest::of("b")).ok());
  auto text = fs::read_file(file).value();
  std::string cut = text.substr(0, text.find(Digest::of("b").hex()) + 10);
  ASSERT_TRUE(fs::write_file_atomic(file, cut).ok());
  ASSERT_TRUE(index.set("c", Digest::of("c")).ok()); // a writer repairs too
  auto names = index.load().value();
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.count("a") + names.count("c"), 2u);
  EXPECT_EQ(fs::read_file(file + ".damaged").value(), cut);
}

// Each rewrite is told to the watch, before and after the rename; setting
// what a name already names writes nothing, unless the file was damaged.
TEST(ImageIndex, AWatchSeesEveryRewriteAndNoOther) {
  fs::TempDir dir("/tmp", "earth-index-test-");
  std::string file = fs::join(dir.path(), "images.json");
  struct Watch : earth::store::IndexWatch {
    std::vector<std::pair<char, uint64_t>> seen; // 'b'efore or 'a'fter, the inode
    uint64_t inode(const std::string& f) {
      struct stat st {};
      return ::stat(f.c_str(), &st) == 0 ? st.st_ino : 0;
    }
    void rewriting(const std::string& f) override { seen.push_back({'b', inode(f)}); }
    void rewritten(const std::string& f) override { seen.push_back({'a', inode(f)}); }
  } watch;
  ImageIndex index(dir.path());
  index.watch(&watch);
  ASSERT_TRUE(index.set("a", Digest::of("a")).ok());
  ASSERT_EQ(watch.seen.size(), 2u);
  EXPECT_EQ(watch.seen[0], std::make_pair('b', uint64_t(0))); // no file yet
  EXPECT_EQ(watch.seen[1].first, 'a');
  EXPECT_NE(watch.seen[1].second, 0u);
  struct stat before {
  }, after{};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  ASSERT_TRUE(index.set("a", Digest::of("a")).ok()); // the same: not written
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(watch.seen.size(), 2u);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  ASSERT_TRUE(index.remove("a").value());
  ASSERT_EQ(watch.seen.size(), 4u);
  EXPECT_EQ(watch.seen[2], std::make_pair('b', watch.seen[1].second));
  EXPECT_FALSE(index.remove("a").value()); // nothing to remove: not written
  EXPECT_EQ(watch.seen.size(), 4u);
  ASSERT_TRUE(index.set("a", Digest::of("a")).ok());
  auto text = fs::read_file(file).value();
  ASSERT_TRUE(fs::write_file_atomic(file, text.substr(0, text.size() / 2)).ok());
  ASSERT_TRUE(index.set("a", Digest::of("a")).ok()); // unchanged, but repaired
  EXPECT_EQ(watch.seen.size(), 8u);
  EXPECT_EQ(index.load().value().size(), 1u);
}

TEST(ImageIndex, ConcurrentWritersLoseNothing) {
  fs::TempDir dir("/tmp", "earth-index-test-");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      ImageIndex index(dir.path());
      for (int i = 0; i < 10; ++i) {
        std::string name = "img" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE(index.set(name, Digest::of(name)).ok());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ImageIndex(dir.path()).load().value().size(), 40u);
}
