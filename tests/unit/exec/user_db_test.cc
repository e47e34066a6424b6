#include "earth/exec/user_db.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "earth/base/fs.h"

namespace earth::exec {
namespace {

class UserDb : public ::testing::Test {
protected:
  void SetUp() override {
    base_ = fs::join(tmp_.path(), "base");
    top_ = fs::join(tmp_.path(), "top");
    fs::make_dirs(fs::join(base_, "etc")).take();
    fs::make_dirs(fs::join(top_, "etc")).take();
    fs::write_file_atomic(fs::join(base_, "etc/passwd"),
                          "root:x:0:0:root:/root:/bin/sh\nold:x:5:5::/old:/bin/sh\n")
        .take();
    fs::write_file_atomic(fs::join(top_, "etc/passwd"),
                          "root:x:0:0:root:/root:/bin/sh\n"
                          "user:x:1000:1001:User:/home/user:/bin/sh\n")
        .take();
    fs::write_file_atomic(fs::join(base_, "etc/group"),
                          "root:x:0:\nuser:x:1001:\nwheel:x:10:user,other\nstaff:x:50:\n")
        .take();
  }
  fs::TempDir tmp_{"/tmp", "earth-userdb-"};
  std::string base_, top_;
  std::vector<std::string> layers() const { return {base_, top_}; }
};

TEST_F(UserDb, EmptyIsRoot) {
  auto u = resolve_user("", layers());
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->home, "/root");
}

TEST_F(UserDb, NameUsesTopmostLayerAndSupplementaryGroups) {
  auto u = resolve_user("user", layers());
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->home, "/home/user");
  EXPECT_EQ(u->groups, std::vector<gid_t>{10});
  EXPECT_FALSE(resolve_user("old", layers()).ok()) << "the top layer's passwd wins";
}

TEST_F(UserDb, NumericAndGroupForms) {
  auto u = resolve_user("4242:staff", layers());
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 50u);
  auto v = resolve_user("user:7", layers());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->gid, 7u);
}

TEST_F(UserDb, UnknownNamesFail) {
  auto u = resolve_user("ghost", layers());
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().find("ghost"), std::string::npos);
  EXPECT_FALSE(resolve_user("user:ghosts", layers()).ok());
}

TEST_F(UserDb, SymlinkResolvesInsideTheLayer) {
  // etc/passwd -> /etc/shadow must read the layer's file, never the host's.
  std::string evil = fs::join(tmp_.path(), "evil");
  fs::make_dirs(fs::join(evil, "etc")).take();
  fs::write_file_atomic(fs::join(evil, "secret"), "root:x:0:0:root:/layer-root:/bin/sh\n").take();
  ASSERT_EQ(::symlink("/../../../../secret", fs::join(evil, "etc/passwd").c_str()), 0);
  auto u = resolve_user("root", {evil});
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->home, "/layer-root");
}

TEST_F(UserDb, WhiteoutHidesLowerFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod of a whiteout needs root";
  ASSERT_EQ(::unlink(fs::join(top_, "etc/passwd").c_str()), 0);
  ASSERT_EQ(::mknod(fs::join(top_, "etc/passwd").c_str(), S_IFCHR | 0600, makedev(0, 0)), 0);
  auto text = read_layered_file(layers(), "etc/passwd");
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(*text, "");
}

} // namespace
} // namespace earth::exec
