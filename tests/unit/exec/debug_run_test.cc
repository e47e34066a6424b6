// `earth debug run IMAGE`: the CLI wiring from the image store to the
// sandbox, with the busybox fixture image imported into a private cache.
#include <gtest/gtest.h>

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

} // namespace
} // namespace earth::exec
