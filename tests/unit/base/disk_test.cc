#include "earth/base/disk.h"

#include <sys/stat.h>

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
