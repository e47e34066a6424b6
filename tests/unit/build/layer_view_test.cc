// LayerView reads a layer stack with overlayfs's rules, without mounting.
#include "../../../src/build/layer_view.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "earth/base/fs.h"

namespace earth::build {
namespace {

class LayerViewTest : public ::testing::Test {
protected:
  fs::TempDir root{"/tmp", "earth-layerview"};
  std::string layer(const std::string& name) {
    std::string d = fs::join(root.path(), name);
    EXPECT_TRUE(fs::make_dirs(d).ok());
    return d;
  }
  void file(const std::string& layer, const std::string& rel, const std::string& text) {
    std::string p = fs::join(layer, rel);
    ASSERT_TRUE(fs::make_dirs(fs::dirname(p)).ok());
    ASSERT_TRUE(fs::write_file_atomic(p, text).ok());
  }
  bool whiteout(const std::string& layer, const std::string& rel) {
    return ::mknod(fs::join(layer, rel).c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0;
  }
};

TEST_F(LayerViewTest, UpperLayersWinAndDirectoriesMerge) {
  auto lower = layer("lower"), upper = layer("upper");
  file(lower, "etc/a", "lower-a");
  file(lower, "etc/b", "lower-b");
  file(upper, "etc/a", "upper-a");
  file(upper, "etc/c", "upper-c");
  LayerView v({lower, upper});
  EXPECT_EQ(v.list("/etc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(v.find("/etc/a")->host, fs::join(upper, "etc/a"));
  EXPECT_EQ(v.find("/etc/b")->host, fs::join(lower, "etc/b"));
  EXPECT_FALSE(v.find("/etc/missing"));
}

TEST_F(LayerViewTest, WhiteoutsHideLowerEntries) {
  auto lower = layer("lower"), upper = layer("upper");
  file(lower, "etc/a", "1");
  file(lower, "etc/b", "1");
  file(upper, "etc/keep", "1");
  if (!whiteout(upper, "etc/a")) GTEST_SKIP() << "mknod needs CAP_MKNOD";
  LayerView v({lower, upper});
  EXPECT_FALSE(v.find("/etc/a"));
  EXPECT_EQ(v.list("/etc"), (std::vector<std::string>{"b", "keep"}));
}

TEST_F(LayerViewTest, OpaqueDirectoriesHideEverythingBelow) {
  auto lower = layer("lower"), upper = layer("upper");
  file(lower, "d/old", "1");
  file(upper, "d/new", "1");
  std::string d = fs::join(upper, "d");
  if (::setxattr(d.c_str(), "user.overlay.opaque", "y", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on this filesystem";
  LayerView v({lower, upper});
  EXPECT_EQ(v.list("/d"), (std::vector<std::string>{"new"}));
  EXPECT_FALSE(v.find("/d/old"));
}

TEST_F(LayerViewTest, AFileHidesADirectoryBelowIt) {
  auto lower = layer("lower"), upper = layer("upper");
  file(lower, "x/inner", "1");
  file(upper, "x", "now a file");
  LayerView v({lower, upper});
  EXPECT_TRUE(S_ISREG(v.find("/x")->st.st_mode));
  EXPECT_FALSE(v.find("/x/inner"));
}

TEST_F(LayerViewTest, SymlinksResolveInsideTheView) {
  auto lower = layer("lower");
  file(lower, "usr/bin/tool", "1");
  ASSERT_EQ(::symlink("usr/bin", fs::join(lower, "bin").c_str()), 0);
  ASSERT_EQ(::symlink("/../../../../etc", fs::join(lower, "escape").c_str()), 0);
  LayerView v({lower});
  auto r = v.resolve("/bin/tool");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "/usr/bin/tool");
  ASSERT_TRUE(r->entry);
  auto e = v.resolve("/escape/passwd");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->path, "/etc/passwd") << "a link cannot climb above the view's root";
  EXPECT_FALSE(e->entry);
}

TEST_F(LayerViewTest, SymlinkLoopsFail) {
  auto lower = layer("lower");
  ASSERT_EQ(::symlink("b", fs::join(lower, "a").c_str()), 0);
  ASSERT_EQ(::symlink("a", fs::join(lower, "b").c_str()), 0);
  LayerView v({lower});
  EXPECT_FALSE(v.resolve("/a/x").ok());
}

} // namespace
} // namespace earth::build
