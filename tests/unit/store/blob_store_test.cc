#include "earth/store/blob_store.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"

namespace fs = earth::fs;
using earth::Digest;
using earth::store::BlobStore;

namespace {

size_t count_entries(const std::string& dir) {
  auto r = earth::run_process({"sh", "-c", "ls -A '" + dir + "' | wc -l"});
  return std::stoul(r->out);
}

} // namespace

TEST(BlobStore, PutGetAndLayout) {
  fs::TempDir dir("/tmp", "earth-blob-test-");
  auto store = BlobStore::open(dir.path()).value();
  auto d = store.put("hello").value();
  EXPECT_EQ(d, Digest::of("hello"));
  EXPECT_EQ(store.path(d), dir.path() + "/blobs/sha256/" + d.hex());
  EXPECT_TRUE(store.has(d));
  EXPECT_EQ(store.get(d).value(), "hello");
  // Putting the same content twice is fine.
  EXPECT_TRUE(store.put("hello", d).ok());
}

TEST(BlobStore, RefusesWrongDigestAndLeavesNothing) {
  fs::TempDir dir("/tmp", "earth-blob-test-");
  auto store = BlobStore::open(dir.path()).value();
  Digest wrong = Digest::of("other");
  auto r = store.put("hello", wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(store.has(wrong));
  EXPECT_FALSE(store.has(Digest::of("hello")));
  EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
}

TEST(BlobStore, StreamingWriterCommitAndAbort) {
  fs::TempDir dir("/tmp", "earth-blob-test-");
  auto store = BlobStore::open(dir.path()).value();
  {
    auto w = store.writer().value();
    ASSERT_TRUE(w.write("abc", 3).ok());
    // dropped without commit
  }
  EXPECT_EQ(count_entries(store.tmp_dir()), 0u);
  auto w = store.writer().value();
  ASSERT_TRUE(w.write("ab", 2).ok());
  ASSERT_TRUE(w.write("c", 1).ok());
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.commit(Digest::of("abc")).value(), Digest::of("abc"));
  EXPECT_EQ(store.get(Digest::of("abc")).value(), "abc");
}

TEST(BlobStore, PutFileVerifies) {
  fs::TempDir dir("/tmp", "earth-blob-test-");
  auto store = BlobStore::open(dir.path()).value();
  std::string src = fs::join(dir.path(), "src");
  ASSERT_TRUE(fs::write_file_atomic(src, "content").ok());
  EXPECT_FALSE(store.put_file(src, Digest::of("x")).ok());
  EXPECT_EQ(store.put_file(src).value(), Digest::of("content"));
  EXPECT_FALSE(store.put_file(fs::join(dir.path(), "missing")).ok());
}

TEST(BlobStore, DefaultCacheDirHonoursEnvironment) {
  ::setenv("EARTH_CACHE_DIR", "/x/earth-cache", 1);
  EXPECT_EQ(earth::store::default_cache_dir(), "/x/earth-cache");
  ::unsetenv("EARTH_CACHE_DIR");
  ::setenv("XDG_CACHE_HOME", "/x/xdg", 1);
  EXPECT_EQ(earth::store::default_cache_dir(), "/x/xdg/earth");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/x/home", 1);
  EXPECT_EQ(earth::store::default_cache_dir(), "/x/home/.cache/earth");
}
