#include "earth/image/layer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "tar_builder.h"

namespace fs = earth::fs;
using earth::Digest;
using namespace earth::image;

namespace {

class LayerTest : public ::testing::Test {
protected:
  fs::TempDir tmp{"/tmp", "earth-layer-test-"};
  std::string dest = fs::join(tmp.path(), "root");
  int n = 0;
  void SetUp() override { ASSERT_TRUE(fs::make_dirs(dest).ok()); }

  std::string tar(const std::vector<TarEntry>& entries, TarCompression c = TarCompression::none) {
    std::string path = fs::join(tmp.path(), "layer" + std::to_string(n++) + ".tar");
    write_tar(path, entries, c);
    return path;
  }
  earth::Result<UnpackStats> unpack(const std::string& blob, WhiteoutMode mode) {
    UnpackOptions opts;
    opts.whiteouts = mode;
    return unpack_layer(blob, dest, opts, "test-layer");
  }
  std::string read(const std::string& rel) {
    auto r = fs::read_file(fs::join(dest, rel));
    return r ? *r : "<missing>";
  }
  bool present(const std::string& rel) { return fs::exists(fs::join(dest, rel)); }
};

} // namespace

TEST_F(LayerTest, UnpacksAllCompressionsAndComputesDiffId) {
  std::vector<TarEntry> entries = {{TarEntry::dir, "etc"},
                                   {TarEntry::file, "etc/hello", "hi\n", 0640},
                                   {TarEntry::symlink, "etc/link", "hello"},
                                   {TarEntry::hardlink, "etc/hard", "etc/hello", 0640}};
  std::string plain = tar(entries);
  auto plain_digest = earth::digest_file(plain).value();
  for (auto c : {TarCompression::none, TarCompression::gzip, TarCompression::zstd}) {
    ASSERT_TRUE(fs::remove_all(dest).ok());
    ASSERT_TRUE(fs::make_dirs(dest).ok());
    auto stats = unpack(tar(entries, c), WhiteoutMode::overlay);
    ASSERT_TRUE(stats.ok()) << stats.error();
    EXPECT_EQ(stats->diff_id, plain_digest);
    EXPECT_EQ(stats->entries, 4u);
    EXPECT_EQ(read("etc/hello"), "hi\n");
    struct stat st {
    }, st2{};
    ASSERT_EQ(::lstat(fs::join(dest, "etc/hello").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_mtime, 1000);
    ASSERT_EQ(::lstat(fs::join(dest, "etc/hard").c_str(), &st2), 0);
    EXPECT_EQ(st.st_ino, st2.st_ino);
    ASSERT_EQ(::lstat(fs::join(dest, "etc/link").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
  }
  EXPECT_EQ(read_uncompressed(plain).value(), plain_digest);
}

TEST_F(LayerTest, ApplyModeWhiteoutsDeleteLowerFiles) {
  ASSERT_TRUE(unpack(tar({{TarEntry::dir, "a"},
                          {TarEntry::file, "a/keep", "1"},
                          {TarEntry::file, "a/gone", "2"},
                          {TarEntry::dir, "o"},
                          {TarEntry::file, "o/old", "3"},
                          {TarEntry::dir, "o/sub"}}),
                     WhiteoutMode::apply)
                  .ok());
  auto r = unpack(tar({{TarEntry::file, "a/.wh.gone", ""},
                       {TarEntry::file, "o/new", "4"},
                       {TarEntry::file, "o/.wh..wh..opq", ""}}),
                  WhiteoutMode::apply);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(read("a/keep"), "1");
  EXPECT_FALSE(present("a/gone"));
  EXPECT_FALSE(present("a/.wh.gone"));
  EXPECT_FALSE(present("o/old"));
  EXPECT_FALSE(present("o/sub"));
  EXPECT_EQ(read("o/new"), "4"); // the opaque dir keeps what its own layer added
  EXPECT_FALSE(present("o/.wh..wh..opq"));
}

TEST_F(LayerTest, OverlayModeWritesOverlayWhiteouts) {
  // Unprivileged users may make whiteout devices (Linux >= 5.8) and user.* xattrs.
  auto r = unpack(tar({{TarEntry::dir, "a"},
                       {TarEntry::file, "a/.wh.gone", ""},
                       {TarEntry::dir, "o"},
                       {TarEntry::file, "o/.wh..wh..opq", ""},
                       {TarEntry::file, "o/new", "4"}}),
                  WhiteoutMode::overlay);
  ASSERT_TRUE(r.ok()) << r.error();
  struct stat st {};
  ASSERT_EQ(::lstat(fs::join(dest, "a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(
      ::lgetxattr(fs::join(dest, "o").c_str(), UnpackOptions().opaque_xattr.c_str(), v, sizeof v),
      1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(read("o/new"), "4");
}

TEST_F(LayerTest, WhiteoutsNeverHideTheirOwnLayer) {
  for (auto mode : {WhiteoutMode::apply, WhiteoutMode::overlay}) {
    ASSERT_TRUE(fs::remove_all(dest).ok());
    ASSERT_TRUE(fs::make_dirs(dest).ok());
    // Whiteout after the entry, and an entry (a dir) after its whiteout.
    auto r = unpack(tar({{TarEntry::file, "f", "kept"},
                         {TarEntry::file, ".wh.f", ""},
                         {TarEntry::file, ".wh.d", ""},
                         {TarEntry::dir, "d"},
                         {TarEntry::file, "d/x", "y"}}),
                    mode);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(read("f"), "kept");
    EXPECT_EQ(read("d/x"), "y");
  }
}

TEST_F(LayerTest, KeepsOwnersXattrsAndDevicesWhenPrivileged) {
  if (!running_privileged()) GTEST_SKIP() << "owners and device nodes need real root";
  auto r = unpack(tar({{TarEntry::file, "owned", "x", 0600, 1234, 5678, {{"user.note", "v1"}}},
                       {TarEntry::chardev, "null"}}),
                  WhiteoutMode::overlay);
  ASSERT_TRUE(r.ok()) << r.error();
  struct stat st {};
  ASSERT_EQ(::lstat(fs::join(dest, "owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  char v[8] = {};
  EXPECT_EQ(::lgetxattr(fs::join(dest, "owned").c_str(), "user.note", v, sizeof v), 2);
  EXPECT_STREQ(v, "v1");
  ASSERT_EQ(::lstat(fs::join(dest, "null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(LayerTest, OnlyTheSafeDevicesAreMade) {
  if (!running_privileged()) GTEST_SKIP() << "device nodes need real root";
  auto r = unpack(tar({{TarEntry::chardev, "null", "1:3"},
                       {TarEntry::chardev, "urandom", "1:9"},
                       {TarEntry::chardev, "mem", "1:1"},
                       {TarEntry::blockdev, "sda", "8:0"},
                       {TarEntry::chardev, "kmsg", "1:11"}}),
                  WhiteoutMode::overlay);
  ASSERT_TRUE(r.ok()) << r.error();
  struct stat st {};
  EXPECT_EQ(::lstat(fs::join(dest, "null").c_str(), &st), 0);
  EXPECT_EQ(::lstat(fs::join(dest, "urandom").c_str(), &st), 0);
  EXPECT_NE(::lstat(fs::join(dest, "mem").c_str(), &st), 0) << "host memory must not be reachable";
  EXPECT_NE(::lstat(fs::join(dest, "sda").c_str(), &st), 0) << "host disks must not be reachable";
  EXPECT_NE(::lstat(fs::join(dest, "kmsg").c_str(), &st), 0);
  EXPECT_EQ(r->skipped_devices, 3u);
}

TEST_F(LayerTest, RefusesAbsoluteAndDotDotPaths) {
  auto r = unpack(tar({{TarEntry::file, "/etc/evil", "x"}}), WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'/etc/evil'"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("absolute"), std::string::npos);
  r = unpack(tar({{TarEntry::file, "a/../../evil", "x"}}), WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'a/../../evil'"), std::string::npos) << r.error();
  EXPECT_FALSE(fs::exists(fs::join(tmp.path(), "evil")));
}

TEST_F(LayerTest, RefusesWritingThroughSymlinks) {
  std::string outside = fs::join(tmp.path(), "outside");
  ASSERT_TRUE(fs::make_dirs(outside).ok());
  auto r =
      unpack(tar({{TarEntry::symlink, "escape", outside}, {TarEntry::file, "escape/pwned", "x"}}),
             WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'escape/pwned'"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("symlink 'escape'"), std::string::npos) << r.error();
  EXPECT_FALSE(fs::exists(fs::join(outside, "pwned")));
  // A relative link climbing out is refused the same way.
  r = unpack(tar({{TarEntry::symlink, "up", "../.."}, {TarEntry::file, "up/x", "x"}}),
             WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'up/x'"), std::string::npos) << r.error();
}

TEST_F(LayerTest, RefusesHostileHardlinks) {
  auto r = unpack(tar({{TarEntry::hardlink, "passwd", "/etc/passwd"}}), WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'passwd'"), std::string::npos) << r.error();
  r = unpack(tar({{TarEntry::hardlink, "h", "../outside"}}), WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  r = unpack(tar({{TarEntry::symlink, "l", "/etc"}, {TarEntry::hardlink, "h", "l/passwd"}}),
             WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("symlink 'l'"), std::string::npos) << r.error();
  r = unpack(tar({{TarEntry::hardlink, "h", "missing"}}), WhiteoutMode::apply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not in the layer"), std::string::npos) << r.error();
}

TEST_F(LayerTest, ReplacingSymlinkDoesNotWriteThroughIt) {
  std::string outside = fs::join(tmp.path(), "target");
  ASSERT_TRUE(fs::write_file_atomic(outside, "secret").ok());
  auto r = unpack(tar({{TarEntry::symlink, "f", outside}, {TarEntry::file, "f", "new"}}),
                  WhiteoutMode::apply);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(fs::read_file(outside).value(), "secret");
  EXPECT_EQ(read("f"), "new");
}

TEST_F(LayerTest, CorruptArchivesFailCleanly) {
  std::string junk = fs::join(tmp.path(), "junk.tar.gz");
  ASSERT_TRUE(fs::write_file_atomic(junk, std::string("\x1f\x8b\x08\x00garbage-garbage", 20)).ok());
  EXPECT_FALSE(unpack(junk, WhiteoutMode::apply).ok());
  std::string good = tar({{TarEntry::file, "big", std::string(100000, 'x')}}, TarCompression::gzip);
  auto data = fs::read_file(good).value();
  std::string cut = fs::join(tmp.path(), "cut.tar.gz");
  ASSERT_TRUE(fs::write_file_atomic(cut, data.substr(0, data.size() / 2)).ok());
  EXPECT_FALSE(unpack(cut, WhiteoutMode::apply).ok());
  EXPECT_FALSE(unpack(fs::join(tmp.path(), "nonexistent"), WhiteoutMode::apply).ok());
}

TEST_F(LayerTest, WriteLayerRoundTripsAndIsDeterministic) {
  std::string src = fs::join(tmp.path(), "src");
  ASSERT_TRUE(fs::make_dirs(src + "/d/e").ok());
  ASSERT_TRUE(fs::write_file_atomic(src + "/d/f", "content", 0600).ok());
  ASSERT_EQ(::symlink("f", (src + "/d/l").c_str()), 0);
  ASSERT_EQ(::link((src + "/d/f").c_str(), (src + "/d/h").c_str()), 0);
  auto blobs = earth::store::BlobStore::open(fs::join(tmp.path(), "cache")).value();
  LayerWriteOptions opts;
  opts.fixed_mtime = 0;
  auto a = write_layer(src, blobs, opts);
  ASSERT_TRUE(a.ok()) << a.error();
  auto b = write_layer(src, blobs, opts);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_EQ(a->media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto stats = unpack(blobs.path(a->digest), WhiteoutMode::apply);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_EQ(stats->diff_id, a->diff_id);
  EXPECT_EQ(read("d/f"), "content");
  EXPECT_EQ(read("d/h"), "content");
  EXPECT_TRUE(fs::is_dir(fs::join(dest, "d/e")));
  opts.compression = Compression::zstd;
  auto z = write_layer(src, blobs, opts);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->diff_id, a->diff_id); // same tar, other compression
}

TEST_F(LayerTest, WriteLayerConvertsOverlayWhiteouts) {
  std::string src = fs::join(tmp.path(), "upper");
  ASSERT_TRUE(fs::make_dirs(src + "/o").ok());
  ASSERT_EQ(::mknod((src + "/gone").c_str(), S_IFCHR, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((src + "/o").c_str(), UnpackOptions().opaque_xattr.c_str(), "y", 1, 0), 0);
  auto blobs = earth::store::BlobStore::open(fs::join(tmp.path(), "cache")).value();
  auto layer = write_layer(src, blobs);
  ASSERT_TRUE(layer.ok()) << layer.error();
  // Flatten onto a lower tree: the whiteouts delete.
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dest, "gone"), "x").ok());
  ASSERT_TRUE(fs::make_dirs(fs::join(dest, "o")).ok());
  ASSERT_TRUE(fs::write_file_atomic(fs::join(dest, "o/old"), "x").ok());
  auto r = unpack(blobs.path(layer->digest), WhiteoutMode::apply);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(present("gone"));
  EXPECT_FALSE(present("o/old"));
  EXPECT_TRUE(fs::is_dir(fs::join(dest, "o")));
}

// Mutated tars may fail, but never crash or write outside the target.
TEST_F(LayerTest, MutatedLayersNeverCrash) {
  std::string good = tar({{TarEntry::dir, "d"},
                          {TarEntry::file, "d/f", std::string(3000, 'a')},
                          {TarEntry::symlink, "d/l", "f"},
                          {TarEntry::hardlink, "d/h", "d/f"},
                          {TarEntry::file, "d/.wh.x", ""}});
  auto data = fs::read_file(good).value();
  uint32_t x = 12345;
  std::string mutated = fs::join(tmp.path(), "mutated.tar");
  for (int round = 0; round < 200; ++round) {
    std::string m = data;
    for (int k = 0; k < 4; ++k) {
      x = x * 1103515245 + 12345;
      m[(x >> 8) % std::min<size_t>(m.size(), 4096)] = static_cast<char>(x >> 24);
    }
    FILE* f = std::fopen(mutated.c_str(), "wb"); // no fsync: this is scratch
    ASSERT_TRUE(f);
    std::fwrite(m.data(), 1, m.size(), f);
    std::fclose(f);
    std::string out = fs::join(tmp.path(), "m" + std::to_string(round));
    ASSERT_TRUE(fs::make_dirs(out).ok());
    UnpackOptions opts;
    opts.whiteouts = round % 2 ? WhiteoutMode::apply : WhiteoutMode::overlay;
    (void)unpack_layer(mutated, out, opts);
    ASSERT_TRUE(fs::remove_all(out).ok());
  }
  auto left = earth::run_process({"ls", "-A", tmp.path()}).value();
  EXPECT_EQ(left.out, "layer0.tar\nmutated.tar\nroot\n");
}
