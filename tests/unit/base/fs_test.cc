#include "earth/base/fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "earth/base/digest.h"

namespace fs = earth::fs;

TEST(Fs, NormalizeIsLexical) {
  EXPECT_EQ(fs::normalize("a/./b/../c"), "a/c");
  EXPECT_EQ(fs::normalize("/../a//b/"), "/a/b");
  EXPECT_EQ(fs::normalize("../x"), "../x");
  EXPECT_EQ(fs::normalize("a/.."), ".");
  EXPECT_EQ(fs::normalize(""), ".");
  // Go's path.Clean, which the resolver relies on for Earthfile references:
  // leading ".." stay on a relative path, "/.." is "/".
  EXPECT_EQ(fs::normalize("../../a/.."), "../..");
  EXPECT_EQ(fs::normalize("a/../../b"), "../b");
  EXPECT_EQ(fs::normalize("/.."), "/");
  EXPECT_EQ(fs::normalize("/a/../../b/./c/"), "/b/c");
  EXPECT_EQ(fs::normalize("./"), ".");
}

TEST(Fs, JoinDirnameBasename) {
  EXPECT_EQ(fs::join("a", "/b"), "a/b");
  EXPECT_EQ(fs::join("a/", "b"), "a/b");
  EXPECT_EQ(fs::dirname("/x/y"), "/x");
  EXPECT_EQ(fs::dirname("y"), ".");
  EXPECT_EQ(fs::basename("/x/y"), "y");
}

TEST(Fs, AtomicWriteReadAndDirs) {
  fs::TempDir dir("/tmp", "earth-fs-test-");
  std::string sub = fs::join(dir.path(), "a/b/c");
  ASSERT_TRUE(fs::make_dirs(sub).ok());
  EXPECT_TRUE(fs::is_dir(sub));
  std::string file = fs::join(sub, "f");
  ASSERT_TRUE(fs::write_file_atomic(file, "hello", 0600).ok());
  EXPECT_EQ(fs::read_file(file).value(), "hello");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(earth::digest_file(file), earth::Digest::of("hello"));
  ASSERT_TRUE(fs::write_file_atomic(file, "again").ok());
  EXPECT_EQ(fs::read_file(file).value(), "again");
}

// Pieces are written in order, empty ones and more than one writev takes
// (IOV_MAX) included.
TEST(Fs, AtomicWriteOfPieces) {
  fs::TempDir dir("/tmp", "earth-fs-test-");
  std::string file = fs::join(dir.path(), "f");
  std::vector<std::string> own;
  std::string want;
  for (int i = 0; i < 3000; ++i) {
    own.push_back(i % 7 == 0 ? "" : std::to_string(i) + ",");
    want += own.back();
  }
  std::vector<std::string_view> pieces(own.begin(), own.end());
  ASSERT_TRUE(fs::write_file_atomic(file, pieces, 0600).ok());
  EXPECT_EQ(fs::read_file(file).value(), want);
  ASSERT_TRUE(fs::write_file_atomic(file, std::vector<std::string_view>{}).ok());
  EXPECT_EQ(fs::read_file(file).value(), "");
}

TEST(Fs, MakeDirsMakesMissingParentsAndRefusesAFile) {
  fs::TempDir dir("/tmp", "earth-fs-test-");
  std::string deep = fs::join(dir.path(), "x/y/z/");
  ASSERT_TRUE(fs::make_dirs(deep, 0700).ok());
  struct stat st {};
  ASSERT_EQ(::stat(fs::join(dir.path(), "x/y").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);   // parents get the mode too
  EXPECT_TRUE(fs::make_dirs(deep).ok()); // exists: fine
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "f"), "").ok());
  auto r = fs::make_dirs(fs::join(dir.path(), "f"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not a directory"), std::string::npos);
  EXPECT_FALSE(fs::make_dirs(fs::join(dir.path(), "f/g")).ok());
}

TEST(Fs, ErrorsNameThePath) {
  auto r = fs::read_file("/nonexistent/earth/file");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/earth/file"), std::string::npos);
  EXPECT_FALSE(fs::write_file_atomic("/nonexistent/dir/f", "x").ok());
}

TEST(Fs, TempDirIsRemoved) {
  std::string path;
  {
    fs::TempDir dir("/tmp", "earth-fs-test-");
    path = dir.path();
    ASSERT_TRUE(fs::write_file_atomic(fs::join(path, "x"), "1").ok());
  }
  EXPECT_FALSE(fs::exists(path));
}

// A mapping keeps the bytes of the file it mapped: a rename over it (as
// every writer of a mapped file does) leaves them, and the mapping lives
// as long as a copy of its keeper.
TEST(Fs, AMappedFileKeepsItsBytesAcrossARename) {
  fs::TempDir dir("/tmp", "earth-fs-test-");
  std::string file = fs::join(dir.path(), "index");
  EXPECT_FALSE(fs::map_file(file, false)); // missing
  ASSERT_TRUE(fs::write_file_atomic(file, "").ok());
  EXPECT_FALSE(fs::map_file(file, true)); // empty
  ASSERT_TRUE(fs::write_file_atomic(file, "first bytes").ok());
  fs::MappedFile kept;
  {
    auto mapped = fs::map_file(file, false);
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->bytes, "first bytes");
    kept = *mapped;
  }
  ASSERT_TRUE(fs::write_file_atomic(file, "second", 0644, fs::Durable::no).ok());
  EXPECT_EQ(kept.bytes, "first bytes");
  auto again = fs::map_file(file, true);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->bytes, "second");
}

// A file whose filesystem does not map it (sysfs attributes) is read.
TEST(Fs, AFileThatCannotBeMappedIsRead) {
  const std::string file = "/sys/devices/system/cpu/online";
  auto text = fs::read_file(file);
  if (!text || text->empty()) GTEST_SKIP() << file << " is not readable here";
  auto mapped = fs::map_file(file, true);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->bytes, *text);
}
