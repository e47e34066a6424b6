// `earth debug run IMAGE`: the CLI wiring from the image store to the
// sandbox, with the busybox fixture image imported into a private cache.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "busybox_rootfs.h"
#include "earth/base/fs.h"
#include "earth/base/subprocess.h"

namespace earth::exec {
namespace {

TEST(DebugRun, RunsACommandInAnImportedImage) {
  std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
  std::string script = std::string(EARTH_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh";
  if (!fs::exists(earth) || !fs::exists(script)) GTEST_SKIP() << "earth or the fixture is missing";
  fs::TempDir dir("/tmp", "earth-debug-run-test-");
  std::string cache = fs::join(dir.path(), "cache");
  auto made = run_process({"bash", script, fs::join(dir.path(), "image")});
  ASSERT_TRUE(made.ok() && made->exit_status == 0) << (made.ok() ? made->err : made.error());
  std::string env = "EARTH_CACHE_DIR=" + cache;
  auto imported = run_process(
      {"env", env, earth, "image", "import", fs::join(dir.path(), "image/busybox.tar")});
  ASSERT_TRUE(imported.ok() && imported->exit_status == 0) << imported->err;

  auto r = run_process({"env", env, earth, "debug", "run", "-u", "nobody", "-w", "/work", "-e",
                        "GREETING=hi", "busybox", "--", "sh", "-c",
                        "id -u; pwd; echo $GREETING; exit 7"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 7) << r->err;
  EXPECT_EQ(r->out, "65534\n/work\nhi\n");

  auto missing =
      run_process({"env", env, earth, "debug", "run", "127.0.0.1:1/no-such-image", "--", "true"});
  ASSERT_TRUE(missing.ok());
  EXPECT_NE(missing->exit_status, 0);
}

// Rootless with a rootfs owned by root: the sandbox's root cannot create
// /etc/hosts there, so it goes without; /proc and /dev exist already. (Nor
// can it write anywhere in that rootfs: copying up a directory owned by an
// unmapped uid fails with EOVERFLOW. docs/sandbox.md, Rootless.)
TEST(DebugRun, RootlessWithARootfsItDoesNotOwn) {
  std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
  if (!fs::exists(earth)) GTEST_SKIP() << "the earth binary is not built";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand the run to nobody";
  fs::TempDir dir("/tmp", "earth-debug-run-foreign-");
  ::chmod(dir.path().c_str(), 0777);
  std::string rootfs = fs::join(dir.path(), "rootfs");
  testing::make_busybox_rootfs(rootfs);
  fs::make_dirs(fs::join(rootfs, "proc")).take();
  fs::make_dirs(fs::join(rootfs, "dev")).take();
  auto r = run_process({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "env",
                        "TMPDIR=" + dir.path(), earth, "debug", "run", "--rootfs", rootfs, "--",
                        "sh", "-c", "id -u; head -1 /etc/passwd"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 0) << r->err;
  EXPECT_EQ(r->out, "0\nroot:x:0:0:root:/root:/bin/sh\n");
}

} // namespace
} // namespace earth::exec
