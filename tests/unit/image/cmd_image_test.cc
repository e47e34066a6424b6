// `earth image ...` end to end through the built binary (skipped when only the
// libraries were built).
#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "test_image.h"

namespace fs = earth::fs;

namespace {

class CmdImageTest : public ::testing::Test {
protected:
  fs::TempDir tmp{"/tmp", "earth-cmd-image-test-"};
  std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
  void SetUp() override {
    REQUIRE_BUSYBOX();
    if (!fs::exists(earth)) GTEST_SKIP() << earth << " is not built";
  }
  earth::ProcessResult run(std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "EARTH_CACHE_DIR=" + tmp.path() + "/cache",
                                     "EARTH_CONFIG=" + tmp.path() + "/none.yml", earth};
    argv.insert(argv.end(), args.begin(), args.end());
    return earth::run_process(argv).value();
  }
};

} // namespace

TEST_F(CmdImageTest, ImportListExportRemove) {
  auto r = run({"image", "import", busybox_fixture().archive()});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "imported docker.io/library/busybox:latest\n");
  r = run({"image", "import", busybox_fixture().layout(), "localhost:5000/copy:2"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  r = run({"image", "ls", "--digests"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("docker.io/library/busybox:latest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("localhost:5000/copy:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(busybox_fixture().manifest), std::string::npos) << r.out;
  std::string out = tmp.path() + "/docker.tar";
  r = run({"image", "export", "busybox", "-o", out, "--format", "docker"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  if (have_program("skopeo")) {
    auto s = earth::run_process({"skopeo", "inspect", "docker-archive:" + out}).value();
    EXPECT_EQ(s.exit_status, 0) << s.err;
  }
  r = run({"image", "export", "busybox", "-o", out, "--format", "zip"});
  EXPECT_EQ(r.exit_status, 2); // a usage error
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
  r = run({"image", "rm", "localhost:5000/copy:2"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  r = run({"image", "rm", "localhost:5000/copy:2"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.err.find("localhost:5000/copy:2"), std::string::npos) << r.err;
  r = run({"image", "import", tmp.path() + "/missing.tar"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.err.find("missing.tar"), std::string::npos) << r.err;
}

// `earth image` with a bad flag or subcommand names the flag, not "unknown
// command or target 'image'" (no image store is needed for that).
TEST(CmdImageArgs, UnknownFlagOrSubcommandIsNamed) {
  std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
  if (!fs::exists(earth)) GTEST_SKIP() << earth << " is not built";
  auto with_known = [](std::string head) {
    head += "(subcommands: import, ls, rm, export, pull, push; see earth --help)\n";
    return head;
  };
  auto r = earth::run_process({earth, "image", "--bogus"}).value();
  EXPECT_EQ(r.exit_status, 2); // a usage error
  EXPECT_EQ(r.err, with_known("earth image: unknown flag --bogus "));
  r = earth::run_process({earth, "image", "bogus"}).value();
  EXPECT_EQ(r.err, with_known("earth image: unknown subcommand 'bogus' "));
  r = earth::run_process({earth, "image"}).value();
  EXPECT_EQ(r.err, with_known("earth image: a subcommand is missing "));
  r = earth::run_process({earth, "image", "ls", "--bogus"}).value();
  EXPECT_EQ(r.err, "earth image ls: unknown flag --bogus (see earth image ls --help)\n");
}
