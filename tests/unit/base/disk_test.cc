#include "earth/base/disk.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

#include "earth/base/fs.h"

namespace earth {
namespace {

TEST(VirtualDiskTest, FilesAndTheirDirectories) {
  VirtualDisk d;
  d.add_file("/p/lib/Earthfile", "VERSION 0.8\n");
  EXPECT_EQ(d.stat("/p/lib/Earthfile").kind, FileStat::Kind::file);
  EXPECT_EQ(d.stat("/p/lib/").kind, FileStat::Kind::dir);
  EXPECT_EQ(d.stat("/p").kind, FileStat::Kind::dir);
  EXPECT_EQ(d.stat("/p/nope").error, ENOENT);
  EXPECT_EQ(d.stat("/p/lib/Earthfile/x").error, ENOTDIR);
  EXPECT_EQ(d.read_file("/p/./lib/Earthfile").value(), "VERSION 0.8\n");
  EXPECT_EQ(d.read_file("/p/lib").error(), "/p/lib: is a directory, not a regular file");
  EXPECT_FALSE(d.read_file("/p/nope").ok());
  EXPECT_EQ(d.reads(), 1);
}

TEST(VirtualDiskTest, ListAndGlob) {
  VirtualDisk d;
  d.add_file("/p/svc/a/Earthfile", "");
  d.add_file("/p/svc/b/x", "");
  d.add_dir("/p/svc/.hidden");
  d.add_file("/p/svc/c", "");
  auto names = d.list_dir("/p/svc").value();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".hidden", "a", "b", "c"}));
  auto found = glob(d, "/p/svc/*/Earthfile");
  EXPECT_EQ(found, (std::vector<std::string>{"/p/svc/a/Earthfile"}));
  found = glob(d, "/p/./svc/[ab]");
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{"/p/./svc/a", "/p/./svc/b"}));
  EXPECT_TRUE(glob(d, "/p/nope/*").empty());
  EXPECT_TRUE(glob(d, "/p/svc/a/missing").empty());
}

TEST(RealDiskTest, KindsAndAFifoThatDoesNotBlock) {
  fs::TempDir dir{"/tmp", "earth-disk-test"};
  std::string fifo = fs::join(dir.path(), "fifo"), file = fs::join(dir.path(), "f");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ASSERT_TRUE(fs::write_file_atomic(file, "x").ok());
  const Disk& d = real_disk();
  EXPECT_EQ(d.stat(dir.path()).kind, FileStat::Kind::dir);
  EXPECT_EQ(d.stat(file).kind, FileStat::Kind::file);
  EXPECT_EQ(d.stat(fifo).kind, FileStat::Kind::other);
  EXPECT_EQ(d.stat(fs::join(dir.path(), "nope")).error, ENOENT);
  EXPECT_EQ(d.read_file(file).value(), "x");
  EXPECT_EQ(d.read_file(fifo).error(), fifo + ": is a FIFO, not a regular file");
}

} // namespace
} // namespace earth
