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

TEST_F(LinuxRuntimeTest, ManyLayersWithLongNames) {
  // 200 lowers whose paths together overflow a 4 KiB option string.
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

// The capabilities a command keeps, as in /proc/self/status: CHOWN,
// DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
// NET_BIND_SERVICE, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
constexpr const char* kDefaultCaps = "00000000a80405fb";

std::string status_field(const std::vector<std::string>& lines, const std::string& name) {
  for (const auto& l : lines)
    if (l.starts_with(name + ":")) return std::string(trim(l.substr(name.size() + 1)));
  return "(missing)";
}

TEST_F(LinuxRuntimeTest, RootKeepsOnlyTheDefaultCapabilitiesAndNoNewPrivileges) {
  auto c = sh("cat /proc/self/status");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  for (const char* set : {"CapPrm", "CapEff", "CapBnd"})
    EXPECT_EQ(status_field(c.out, set), kDefaultCaps) << set;
  EXPECT_EQ(status_field(c.out, "CapInh"), "0000000000000000");
  EXPECT_EQ(status_field(c.out, "CapAmb"), "0000000000000000");
  EXPECT_EQ(status_field(c.out, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(c.out, "Seccomp"), "2");
  RunSpec nobody;
  nobody.user = "nobody";
  auto d = sh("grep -E '^Cap(Prm|Eff)' /proc/self/status", nobody);
  ASSERT_TRUE(d.result.ok()) << d.result.error();
  EXPECT_EQ(d.out,
            (std::vector<std::string>{"CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"}));
}

TEST_F(LinuxRuntimeTest, CannotSniffTheHostNetwork) {
  // arping opens an AF_PACKET socket, which needs CAP_NET_RAW.
  auto c = sh("arping -c 1 -w 1 -I lo 127.0.0.1 >/dev/null 2>&1; echo $?; "
              "ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo RAW; echo done");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_EQ(c.out.size(), 2u) << join(c.out, "|");
  EXPECT_NE(c.out[0], "0") << "arping got a packet socket";
  EXPECT_EQ(c.out[1], "done");
}

TEST_F(LinuxRuntimeTest, DeviceNodesMadeInsideReachNoDevice) {
  // c 1 5 is /dev/zero: readable through the node only if nodes work.
  auto c = sh("for d in /tmp /dev /dev/shm /root; do mknod $d/z c 1 5 2>/dev/null; "
              "head -c 1 $d/z 2>/dev/null | wc -c; done");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"0", "0", "0", "0"}));
}

TEST_F(LinuxRuntimeTest, DeviceNodesShippedInALayerReachNoDevice) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can make the device node";
  std::string layer = fs::join(dir_->path(), "device-layer");
  fs::make_dirs(layer).take();
  ASSERT_EQ(::mknod(fs::join(layer, "zero").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
  RunSpec spec;
  spec.lower_dirs = {rootfs_, layer};
  auto c = sh("test -c /zero && echo node; head -c 1 /zero 2>/dev/null | wc -c; "
              "head -c 1 /dev/zero | wc -c",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"node", "0", "1"})) << "earth's /dev still works";
}

TEST_F(LinuxRuntimeTest, SeccompRefusesWhatDockerRefuses) {
  // A user namespace needs no capability, only the seccomp filter stops it.
  auto c = sh("unshare -U true 2>/dev/null && echo USERNS; "
              "unshare -m true 2>/dev/null && echo MOUNTNS; echo done");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, std::vector<std::string>{"done"});
}

TEST_F(LinuxRuntimeTest, HostKernelInfoIsMasked) {
  auto c = sh("for f in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug; do "
              "test -e $f || continue; test -c $f && echo masked || echo $f; done; "
              "cat /proc/timer_list /proc/keys 2>/dev/null | wc -c; "
              "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo WROTE");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_GE(c.out.size(), 3u) << "keys and timer_list exist on every kernel";
  for (size_t i = 0; i + 1 < c.out.size(); ++i) EXPECT_EQ(c.out[i], "masked");
  EXPECT_EQ(c.out.back(), "0");
  // Not hidden (docs/sandbox.md): overlayfs shows its layers' host paths in
  // /proc/self/mountinfo, and refuses detached mounts as layers.
}

TEST_F(LinuxRuntimeTest, PrivilegedKeepsEverything) {
  RunSpec spec;
  spec.privileged = true;
  auto c = sh("grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
              "test -c /proc/keys && echo masked; "
              "mount -t tmpfs x /tmp 2>/dev/null && echo mounted",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  auto self = split(fs::read_file("/proc/self/status").take(), '\n');
  // Rootless, the command has every capability of its user namespace.
  std::string all = ::geteuid() == 0 ? status_field(self, "CapBnd") : "000001ffffffffff";
  ASSERT_EQ(c.out.size(), 4u) << join(c.out, "|");
  EXPECT_EQ(c.out[0], "CapEff:\t" + all);
  EXPECT_EQ(c.out[1], "NoNewPrivs:\t0");
  EXPECT_EQ(c.out[2], "Seccomp:\t0");
  EXPECT_EQ(c.out[3], "mounted");
}

TEST_F(LinuxRuntimeTest, TmpfsMountsStayOutOfTheLayer) {
  RunSpec spec;
  spec.tmpfs = {{"/tmp", 0}, {"/var/cache/small", 64 * 1024}};
  spec.mounts = {{fs::join(dir_->path(), "rootfs/etc"), "/tmp/etc", true}};
  auto c = sh("echo x > /tmp/a; echo y > /var/cache/small/b; "
              "head -c 200000 /dev/zero > /var/cache/small/big 2>/dev/null || echo full; "
              "stat -c %a /tmp; test -f /tmp/etc/passwd && echo bound; "
              "mknod /tmp/z c 1 5 2>/dev/null; head -c 1 /tmp/z 2>/dev/null | wc -c",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, (std::vector<std::string>{"full", "1777", "bound", "0"}));
  auto listing = run_process({"sh", "-c", "cd " + c.upper + " && find . | sort"}).take().out;
  EXPECT_EQ(listing, ".\n") << "tmpfs contents and mount points are not in the layer";
}

TEST_F(LinuxRuntimeTest, TooManyLayersSayHowMany) {
  std::vector<std::string> lowers = {rootfs_};
  for (int i = 0; i < 500; ++i) {
    std::string layer = fs::join(dir_->path(), "many/" + std::to_string(i));
    fs::make_dirs(layer).take();
    lowers.push_back(layer);
  }
  RunSpec spec;
  spec.lower_dirs = lowers;
  auto c = run({"true"}, spec);
  ASSERT_FALSE(c.result.ok());
  EXPECT_NE(c.result.error().find("501 layers"), std::string::npos) << c.result.error();
  EXPECT_NE(c.result.error().find("at most 500"), std::string::npos) << c.result.error();
  lowers.pop_back();
  spec.lower_dirs = lowers;
  auto d = run({"true"}, spec);
  ASSERT_TRUE(d.result.ok()) << d.result.error();
}

TEST_F(LinuxRuntimeTest, ByteSinksGetTheExactBytes) {
  std::string out, err;
  RunSpec spec;
  spec.on_stdout_bytes = [&](std::string_view b) { out.append(b); };
  spec.on_stderr_bytes = [&](std::string_view b) { err.append(b); };
  auto c = sh("printf 'a\\n\\nb'; printf 'e' >&2; head -c 150000 /dev/zero | tr '\\0' x", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(out, "a\n\nb" + std::string(150000, 'x'));
  EXPECT_EQ(err, "e");
  EXPECT_EQ(c.out.size(), 5u) << "the line sink still gets lines (and 64 KiB pieces)";
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
  auto r = run_process(
      {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", path,
       "--gtest_filter=LinuxRuntimeTest.*:InterruptTest.*:UserDb.*:DebugRun.*:DebugRunRootfs.*",
       "--gtest_brief=1"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_status, 0) << r->out << r->err;
}

} // namespace
} // namespace earth::exec
