// Isolation tests of the real sandbox. They run as root in CI and, through
// LinuxRuntimeRootless.WholeSuiteAsNobody, again as an unprivileged user.
#include "earth/exec/linux_runtime.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <thread>

#include "busybox_rootfs.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/base/subprocess.h"

namespace earth::exec {
namespace {

using testing::Captured;
using testing::run_captured;

class LinuxRuntimeTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new fs::TempDir("/tmp", "earth-sandbox-test-");
    ::chmod(dir_->path().c_str(), 0755);
    rootfs_ = fs::join(dir_->path(), "rootfs");
    testing::make_busybox_rootfs(rootfs_);
  }
  static void TearDownTestSuite() {
    remove_scratch(dir_->path());
    delete dir_;
    dir_ = nullptr;
  }
  void TearDown() override { EXPECT_EQ(testing::count_mounts(dir_->path()), 0); }

  Captured run(std::vector<std::string> argv, RunSpec spec = {}) {
    if (spec.lower_dirs.empty()) spec.lower_dirs = {rootfs_};
    spec.argv = std::move(argv);
    return run_captured(runtime_, dir_->path(), std::move(spec));
  }
  Captured sh(const std::string& script, RunSpec spec = {}) {
    return run({"sh", "-c", script}, std::move(spec));
  }

  static inline fs::TempDir* dir_ = nullptr;
  static inline std::string rootfs_;
  LinuxRuntime runtime_;
};

TEST_F(LinuxRuntimeTest, ReportsOutputAndExitStatus) {
  auto c = sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.result->exit_status, 3);
  EXPECT_EQ(c.result->signal, 0);
  EXPECT_EQ(c.out, std::vector<std::string>{"out"});
  EXPECT_EQ(c.err, std::vector<std::string>{"err"});
  EXPECT_GT(c.result->duration.count(), 0);
}

TEST_F(LinuxRuntimeTest, CommandIsChildOfPid1InItsOwnNamespaces) {
  RunSpec spec;
  spec.hostname = "sandboxed";
  auto c = sh("echo $$ $PPID; hostname; ls /proc | grep -c '^[0-9]'", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_EQ(c.out[0], "2 1");
  EXPECT_EQ(c.out[1], "sandboxed");
  EXPECT_LE(std::stoi(c.out[2]), 4) << "only PID 1, sh, ls and grep are visible";
}

TEST_F(LinuxRuntimeTest, SeesNoHostFiles) {
  auto c = sh("ls /; test -e " + rootfs_ +
              " && echo HOST; test -e /usr/bin/apt && echo HOST; "
              "cat /etc/passwd | head -1");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  std::string all = join(c.out, " ");
  EXPECT_EQ(all.find("HOST"), std::string::npos) << all;
  EXPECT_NE(all.find("bin"), std::string::npos);
  EXPECT_EQ(c.out.back(), "root:x:0:0:root:/root:/bin/sh");
}

TEST_F(LinuxRuntimeTest, DeletionsLeaveLowerAloneAndWhiteoutsInUpper) {
  auto before = run_process({"sh", "-c", "find " + rootfs_ + " | wc -l"}).take().out;
  auto c = sh("rm -rf /home /bin/vi; rm /etc/passwd; echo new > /root/file; "
              "test -e /etc/passwd && echo STILL; test -e /home && echo STILL");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_TRUE(c.out.empty());
  EXPECT_EQ(run_process({"sh", "-c", "find " + rootfs_ + " | wc -l"}).take().out, before);
  EXPECT_TRUE(fs::exists(fs::join(rootfs_, "etc/passwd")));
  for (const char* deleted : {"home", "etc/passwd", "bin/vi"}) {
    struct stat st {};
    ASSERT_EQ(::lstat(fs::join(c.upper, deleted).c_str(), &st), 0) << deleted;
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << deleted << " is a whiteout";
  }
  EXPECT_EQ(fs::read_file(fs::join(c.upper, "root/file")).take(), "new\n");
}

TEST_F(LinuxRuntimeTest, CannotEscapeThroughDotDotOrSymlinks) {
  std::string lower = fs::join(dir_->path(), "escape-layer");
  // /tmp exists in the rootfs too: the symlink must land there, not on the host.
  std::string host_target = "/tmp/earth-escape-" + std::to_string(::getpid());
  fs::make_dirs(lower).take();
  ASSERT_EQ(::symlink("../../../../../../../..", fs::join(lower, "up").c_str()), 0);
  ASSERT_EQ(::symlink(host_target.c_str(), fs::join(lower, "abs").c_str()), 0);
  RunSpec spec;
  spec.lower_dirs = {rootfs_, lower};
  auto c =
      sh("cd /../../..; pwd; ls /up/ | grep -c rootfs; echo x > /abs; cat " + host_target, spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_GE(c.out.size(), 3u);
  EXPECT_EQ(c.out[0], "/");
  EXPECT_EQ(c.out[1], "0");
  EXPECT_EQ(c.out[2], "x") << "the absolute symlink resolves inside the sandbox";
  EXPECT_FALSE(fs::exists(host_target));
}

TEST_F(LinuxRuntimeTest, SwitchesUser) {
  RunSpec spec;
  spec.user = "nobody";
  auto c = sh("id -u; id -g; echo $HOME", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"65534", "65534", "/nonexistent"}));
}

TEST_F(LinuxRuntimeTest, SwitchesToNumericUserWithSupplementaryGroupsNeedsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "a rootless sandbox has a single uid";
  RunSpec spec;
  spec.user = "user:wheel";
  auto c = sh("id -u; id -g; id -G; touch /tmp/mine; stat -c %u:%g /tmp/mine", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"1000", "10", "10", "1000:10"}));
  spec.user = "4242:4343";
  auto d = sh("id -u; id -g", spec);
  ASSERT_TRUE(d.result.ok());
  EXPECT_EQ(d.out, (std::vector<std::string>{"4242", "4343"}));
}

TEST_F(LinuxRuntimeTest, RootLosesDangerousCapabilities) {
  auto c =
      sh("mount -t tmpfs x /tmp 2>/dev/null && echo MOUNTED; echo 1 > /proc/sys/vm/drop_caches "
         "2>/dev/null && echo WROTE; echo done");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, std::vector<std::string>{"done"});
}

TEST_F(LinuxRuntimeTest, ReportsSignals) {
  auto c = sh("kill -9 $$");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.result->signal, 9);
  EXPECT_EQ(c.result->exit_status, 128 + 9);
  EXPECT_FALSE(c.result->success());
}

TEST_F(LinuxRuntimeTest, LinesArriveInOrder) {
  auto c =
      sh("i=1; while [ $i -le 2000 ]; do echo $i; echo e$i >&2; i=$((i+1)); done; printf tail");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_EQ(c.out.size(), 2001u);
  ASSERT_EQ(c.err.size(), 2000u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(c.out[i], std::to_string(i + 1));
    ASSERT_EQ(c.err[i], "e" + std::to_string(i + 1));
  }
  EXPECT_EQ(c.out.back(), "tail");
}

TEST_F(LinuxRuntimeTest, TimeoutKillsEverything) {
  RunSpec spec;
  spec.timeout = std::chrono::milliseconds(300);
  auto c = sh("sleep 4711 & sleep 4711 & echo started; sleep 4711", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_TRUE(c.result->timed_out);
  EXPECT_EQ(c.result->signal, SIGKILL);
  EXPECT_LT(c.result->duration, std::chrono::seconds(3));
  EXPECT_EQ(c.out, std::vector<std::string>{"started"});
  EXPECT_EQ(testing::count_processes("sleep 4711"), 0);
}

TEST_F(LinuxRuntimeTest, BackgroundProcessesDieWithTheCommand) {
  auto c = sh("sleep 4712 > /dev/null 2>&1 & echo bg");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.result->exit_status, 0);
  EXPECT_EQ(testing::count_processes("sleep 4712"), 0);
}

TEST_F(LinuxRuntimeTest, EnvCwdHostsAndDev) {
  RunSpec spec;
  spec.env = {"GREETING=overridden", "PATH=/bin", "GREETING=hi there"};
  spec.cwd = "/work/dir";
  spec.extra_hosts = {{"registry.local", "10.1.2.3"}};
  auto c = sh("echo $GREETING; pwd; grep registry.local /etc/hosts; echo x > /dev/null; "
              "head -c 4 /dev/zero | wc -c; test -c /dev/urandom && echo urandom; "
              "test -e /etc/resolv.conf && echo resolv",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"hi there", "/work/dir", "10.1.2.3\tregistry.local",
                                             "4", "urandom", "resolv"}));
  EXPECT_TRUE(fs::is_dir(fs::join(c.upper, "work/dir"))) << "the created workdir is in the layer";
}

TEST_F(LinuxRuntimeTest, MountStubsDoNotEnterTheLayer) {
  auto c = run({"true"});
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  auto listing = run_process({"sh", "-c", "cd " + c.upper + " && find . | sort"}).take().out;
  EXPECT_EQ(listing, ".\n");
}

TEST_F(LinuxRuntimeTest, NetworkNoneHasOnlyLoopback) {
  RunSpec spec;
  spec.network = Network::none;
  auto c = sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, std::vector<std::string>{"lo"});
}

TEST_F(LinuxRuntimeTest, BindMounts) {
  std::string cache = fs::join(dir_->path(), "cache");
  std::string secret = fs::join(dir_->path(), "secret");
  fs::make_dirs(cache).take();
  fs::write_file_atomic(secret, "s3cret").take();
  RunSpec spec;
  spec.mounts = {{cache, "/root/.cache", false}, {secret, "/run/secrets/token", true}};
  auto c = sh("echo cached > /root/.cache/f; cat /run/secrets/token; echo; "
              "echo no > /run/secrets/token 2>/dev/null || echo readonly",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"s3cret", "readonly"}));
  EXPECT_EQ(fs::read_file(fs::join(cache, "f")).take(), "cached\n");
  EXPECT_EQ(fs::read_file(secret).take(), "s3cret");
  EXPECT_FALSE(fs::exists(fs::join(c.upper, "run"))) << "bind targets are not part of the layer";
}

TEST_F(LinuxRuntimeTest, ZeroLowersGiveAnEmptyRoot) {
  RunSpec spec;
  spec.lower_dirs = {};
  spec.mounts = {{"/bin/busybox", "/bin/busybox", true}};
  spec.argv = {"/bin/busybox", "sh", "-c", "/bin/busybox ls -a / | /bin/busybox tr '\\n' ' '"};
  auto c = run_captured(runtime_, dir_->path(), spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, std::vector<std::string>{". .. bin dev etc proc "});
}

TEST_F(LinuxRuntimeTest, ManyLayersUseTheNewMountApi) {
  // 200 lowers with long paths overflow the legacy 4 KiB option string.
  std::vector<std::string> lowers = {rootfs_};
  for (int i = 0; i < 200; ++i) {
    std::string layer =
        fs::join(dir_->path(), "layers/a-rather-long-layer-name-" + std::to_string(i));
    fs::make_dirs(fs::join(layer, "layers")).take();
    std::ofstream(fs::join(layer, "layers/" + std::to_string(i)));
    std::ofstream(fs::join(layer, "top")) << i;
    lowers.push_back(layer);
  }
  RunSpec spec;
  spec.lower_dirs = lowers;
  auto c = sh("ls /layers | wc -l; cat /top", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"200", "199"}));
}

TEST_F(LinuxRuntimeTest, RunsConcurrentlyFromThreads) {
  // The engine runs independent steps in parallel on one runtime.
  std::vector<Captured> results(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      RunSpec spec;
      spec.hostname = "h" + std::to_string(i);
      results[i] = sh("sleep 0.1; hostname; echo $$", spec);
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(results[i].result.ok()) << results[i].result.error();
    EXPECT_EQ(results[i].out, (std::vector<std::string>{"h" + std::to_string(i), "2"}));
  }
}

TEST_F(LinuxRuntimeTest, MissingProgramIsAFailure) {
  auto c = run({"no-such-program"});
  ASSERT_FALSE(c.result.ok());
  EXPECT_NE(c.result.error().find("exec no-such-program"), std::string::npos) << c.result.error();
  RunSpec ghost;
  ghost.user = "ghost";
  auto d = run({"/bin/sh", "-c", "exit 0"}, ghost);
  ASSERT_FALSE(d.result.ok());
  EXPECT_NE(d.result.error().find("ghost"), std::string::npos);
}

// Runs this whole suite again as `nobody`, which exercises the user
// namespace path (rootless overlayfs with userxattr, uid mapping).
TEST(LinuxRuntimeRootless, WholeSuiteAsNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "already unprivileged: the suite itself is the test";
  if (std::getenv("EARTH_TEST_NO_ROOTLESS")) GTEST_SKIP();
  auto self = fs::read_file("/proc/self/cmdline").take();
  std::string exe = self.c_str();
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  ASSERT_GT(n, 0);
  path[n] = '\0';
  auto r = run_process({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", path,
                        "--gtest_filter=LinuxRuntimeTest.*:InterruptTest.*:UserDb.*:DebugRun.*",
                        "--gtest_brief=1"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 0) << r->out << r->err;
}

} // namespace
} // namespace earth::exec
