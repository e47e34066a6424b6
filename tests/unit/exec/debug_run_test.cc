// `earth debug run IMAGE`: the CLI wiring from the image store to the
// sandbox, with the busybox fixture image imported into a private cache.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

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

  // Everything after the image is the command's, flags included.
  auto df = run_process({"env", env, earth, "debug", "run", "busybox", "--", "df", "-h", "/"});
  ASSERT_TRUE(df.ok()) << df.error();
  EXPECT_EQ(df->exit_status, 0) << df->err;
  EXPECT_TRUE(df->out.starts_with("Filesystem")) << df->out;
  auto echo = run_process({"env", env, earth, "debug", "run", "busybox", "echo", "-e", "a\\tb"});
  ASSERT_TRUE(echo.ok()) << echo.error();
  EXPECT_EQ(echo->out, "a\tb\n") << echo->err;

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

// Under ASan the sandbox's PID 1 (earth's code, sharing earth's stderr)
// warns about the command's clone() stack; that is no output of the command.
std::string without_asan_warnings(std::string err) {
  constexpr std::string_view kEnd = "sanitizers/issues/189\n";
  for (size_t at; (at = err.find("==WARNING: ASan is ignoring")) != std::string::npos;) {
    size_t begin = err.rfind("==", at - 1);
    size_t end = err.find(kEnd, at);
    if (begin == std::string::npos || end == std::string::npos) break;
    err.erase(begin, end + kEnd.size() - begin);
  }
  return err;
}

class DebugRunRootfs : public ::testing::Test {
protected:
  void SetUp() override {
    if (!fs::exists(earth_)) GTEST_SKIP() << "the earth binary is not built";
    rootfs_ = fs::join(dir_.path(), "rootfs");
    testing::make_busybox_rootfs(rootfs_);
    tmp_ = fs::join(dir_.path(), "tmp");
    fs::make_dirs(tmp_).take();
  }
  Result<ProcessResult> earth(std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "TMPDIR=" + tmp_, earth_, "debug", "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
  }
  std::vector<std::string> scratch_left() {
    std::vector<std::string> names;
    DIR* d = ::opendir(tmp_.c_str());
    while (dirent* e = d ? ::readdir(d) : nullptr)
      if (std::string(e->d_name).starts_with(".earth-run-")) names.emplace_back(e->d_name);
    if (d) ::closedir(d);
    return names;
  }

  std::string earth_ = std::string(EARTH_BINARY_DIR) + "/earth";
  fs::TempDir dir_{"/tmp", "earth-debug-run-rootfs-"};
  std::string rootfs_, tmp_;
};

TEST_F(DebugRunRootfs, FlagsAfterTheRootfsBelongToTheCommand) {
  auto df = earth({"--rootfs", rootfs_, "--", "df", "-h", "/"});
  ASSERT_TRUE(df.ok()) << df.error();
  EXPECT_EQ(df->exit_status, 0) << df->err;
  EXPECT_TRUE(df->out.starts_with("Filesystem")) << df->out;
  auto env = earth({"-e", "A=1", "--rootfs", rootfs_, "sh", "-c", "echo -e \"$A\\tz\"", "-e"});
  ASSERT_TRUE(env.ok()) << env.error();
  EXPECT_EQ(env->out, "1\tz\n") << env->err;
  auto help = earth({"--rootfs", rootfs_, "echo", "--help", "-h"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->out, "--help -h\n") << "the command's --help is not earth's";
  auto usage = earth({"--help"});
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->exit_status, 0);
  EXPECT_NE(usage->out.find("usage: earth debug run"), std::string::npos) << usage->out;
}

TEST_F(DebugRunRootfs, OutputIsByteExact) {
  auto r = earth({"--rootfs", rootfs_, "sh", "-c",
                  "printf abc; printf err >&2; head -c 150000 /dev/zero | tr '\\0' x"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 0) << r->err;
  EXPECT_EQ(r->out.size(), 150003u);
  EXPECT_TRUE(r->out == "abc" + std::string(150000, 'x')) << "no newline appended or inserted";
  EXPECT_EQ(without_asan_warnings(r->err), "err");
}

TEST_F(DebugRunRootfs, BadTimeoutIsAUserError) {
  for (const char* bad : {"abc", "-1", "1x"}) {
    auto r = earth({"--timeout", bad, "--rootfs", rootfs_, "true"});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->exit_status, 2) << bad << ": " << r->err; // a usage error
    EXPECT_NE(r->err.find("--timeout"), std::string::npos) << r->err;
    EXPECT_EQ(r->err.find("internal error"), std::string::npos) << r->err;
  }
}

TEST_F(DebugRunRootfs, ScratchOfAKilledRunIsRemovedByTheNextRun) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("TMPDIR", tmp_.c_str(), 1);
    ::execl(earth_.c_str(), earth_.c_str(), "debug", "run", "--rootfs", rootfs_.c_str(), "--",
            "sleep", "4731", nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200 && scratch_left().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(scratch_left().size(), 1u) << "SIGKILL leaves the scratch behind";
  auto r = earth({"--rootfs", rootfs_, "true"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 0) << r->err;
  EXPECT_TRUE(scratch_left().empty()) << scratch_left().front();
}

} // namespace
} // namespace earth::exec
