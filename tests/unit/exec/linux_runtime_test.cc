// Isolation tests of the real sandbox. They run as root in CI and, through
// LinuxRuntimeRootless.WholeSuiteAsNobody, again as an unprivileged user.
#include "earth/exec/linux_runtime.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstring>
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

// PID 1 is earth-sandbox-init from earth's memfd, non-dumpable, with its
// plan in a file: the step's env (secrets) is not on its command line,
// which every user of the host can read.
TEST_F(LinuxRuntimeTest, Pid1IsTheInitProgramAndShowsNoEnv) {
  RunSpec spec;
  spec.env = {"EARTH_TEST_SECRET=s3cr3t-value"};
  auto c = sh("tr '\\0' ' ' </proc/1/cmdline; echo; readlink /proc/1/exe || echo unreadable; "
              "echo $EARTH_TEST_SECRET",
              spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  ASSERT_EQ(c.out.size(), 3u);
  EXPECT_TRUE(c.out[0].starts_with("earth-sandbox-init ")) << c.out[0];
  EXPECT_EQ(c.out[0].find("s3cr3t"), std::string::npos) << c.out[0];
  EXPECT_EQ(c.out[0].find("sh -c"), std::string::npos) << c.out[0];
  EXPECT_EQ(c.out[1], "unreadable") << "PID 1 is not dumpable";
  EXPECT_EQ(c.out[2], "s3cr3t-value");
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

// One line per entry of a layer: type, mode, owner, size, link count,
// mtime (not for dirs and symlinks, which the kernel touches), link target,
// device, and every extended attribute.
std::vector<std::string> describe_layer(const std::string& root, const std::string& rel = "") {
  std::vector<std::string> lines;
  std::string path = rel.empty() ? root : fs::join(root, rel);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {"missing " + rel};
  std::string line = (rel.empty() ? "." : rel) + " " + std::to_string(st.st_mode) + " " +
                     std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
                     std::to_string(st.st_nlink);
  if (S_ISREG(st.st_mode))
    line += " size=" + std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    line += " dev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    line += " -> " + std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
  }
  char names[4096];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  std::vector<std::string> attrs;
  for (ssize_t at = 0; at < n; at += static_cast<ssize_t>(std::strlen(names + at)) + 1) {
    char value[256];
    ssize_t len = ::lgetxattr(path.c_str(), names + at, value, sizeof value);
    attrs.push_back(
        std::string(names + at) + "=" +
        std::to_string(len > 0 ? std::string(value, static_cast<size_t>(len)).size() : 0) + "B");
  }
  std::sort(attrs.begin(), attrs.end());
  for (const auto& a : attrs) line += " " + a;
  lines.push_back(line);
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> names_in;
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          names_in.emplace_back(e->d_name);
      ::closedir(d);
    }
    std::sort(names_in.begin(), names_in.end());
    for (const auto& name : names_in)
      for (auto& l : describe_layer(root, rel.empty() ? name : fs::join(rel, name)))
        lines.push_back(std::move(l));
  }
  return lines;
}

TEST_F(LinuxRuntimeTest, MemoryScratchGivesTheSameLayerAsDisk) {
  // What overlayfs writes into an upper dir on disk, the memory scratch must
  // hand over intact: whiteouts, opaque dirs, modes (setuid), owners, hard
  // links, symlinks, fifos, times and file capabilities.
  std::string lower = fs::join(dir_->path(), "fidelity-layer");
  fs::make_dirs(fs::join(lower, "caps")).take();
  std::ofstream(fs::join(lower, "caps/ping")) << "#!/bin/sh\n";
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(run_process({"setcap", "cap_net_bind_service=ep", fs::join(lower, "caps/ping")})
                  .take()
                  .exit_status,
              0);
  }
  std::string script =
      "mkdir -p /d/sub && echo hi > /d/sub/f && chown 1000:1000 /d/sub/f 2>/dev/null; "
      "chmod 4755 /d/sub/f && ln /d/sub/f /d/hard && ln -s ../x /d/link && mkfifo /d/fifo && "
      "rm /etc/passwd && rm -rf /home && mkdir /home && echo y > /home/new && chmod 700 /d && "
      "chmod 755 /caps/ping && touch -d @1000000 /d/sub/f /d/fifo /home/new /caps/ping";
  RunSpec disk;
  disk.lower_dirs = {rootfs_, lower};
  disk.work_dir = fs::join(dir_->path(), "fidelity-work");
  auto on_disk = sh(script, disk);
  ASSERT_TRUE(on_disk.result.ok()) << on_disk.result.error();
  ASSERT_TRUE(on_disk.result->success()) << join(on_disk.err, "\n");
  RunSpec memory;
  memory.lower_dirs = disk.lower_dirs;
  auto in_memory = sh(script, memory);
  ASSERT_TRUE(in_memory.result.ok()) << in_memory.result.error();
  ASSERT_TRUE(in_memory.result->success()) << join(in_memory.err, "\n");

  auto expected = describe_layer(on_disk.upper);
  EXPECT_EQ(describe_layer(in_memory.upper), expected);
  std::string all = join(expected, "\n");
  EXPECT_NE(all.find("etc/passwd 8192 "), std::string::npos) << all; // 020000: a whiteout
  EXPECT_NE(all.find(" 1 dev=0,0"), std::string::npos) << all;
  EXPECT_NE(all.find("overlay.opaque"), std::string::npos) << all;
  EXPECT_NE(all.find("d/hard 35309"), std::string::npos) << all; // 0104755
  EXPECT_NE(all.find("mtime=1000000"), std::string::npos) << all;
  if (root) {
    EXPECT_NE(all.find("security.capability"), std::string::npos) << all;
  }
}

TEST_F(LinuxRuntimeTest, DiskScratchWhenAskedFor) {
  // EARTH_STEP_SCRATCH=disk: overlayfs works next to the upper dir, and
  // leaves nothing there.
  ::setenv("EARTH_STEP_SCRATCH", "disk", 1);
  auto c = sh("echo x > /new; rm /etc/passwd");
  ::unsetenv("EARTH_STEP_SCRATCH");
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(fs::read_file(fs::join(c.upper, "new")).take(), "x\n");
  struct stat st {};
  ASSERT_EQ(::lstat(fs::join(c.upper, "etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "a whiteout";
  auto beside = run_process({"sh", "-c", "ls -A " + fs::dirname(c.upper)}).take().out;
  EXPECT_EQ(beside, "upper\n");
}

TEST_F(LinuxRuntimeTest, MemoryScratchIsUsedAndLeavesNothingBehind) {
  auto count = [] {
    return run_process({"sh", "-c",
                        "ls -a /dev/shm | grep -c '^.earth-step-" + std::to_string(::getpid()) +
                            "-' || true"})
        .take()
        .out;
  };
  // The line sink runs in earth while the command runs: the scratch exists.
  std::string during;
  RunSpec spec;
  spec.on_stdout = [&](std::string_view) { during = count(); };
  auto c = sh("head -c 100000 /dev/zero > /big; echo written", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(during, "1\n");
  EXPECT_EQ(fs::read_file(fs::join(c.upper, "big")).take().size(), 100000u);
  EXPECT_EQ(count(), "0\n");
}

TEST_F(LinuxRuntimeTest, AStepThatFillsTheMemoryScratchRunsAgainOnDisk) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting the small tmpfs needs root";
  // A 16 MiB tmpfs as the memory scratch; the step writes 32 MiB.
  std::string shm = fs::join(dir_->path(), "small-shm");
  fs::make_dirs(shm).take();
  ASSERT_EQ(
      run_process({"mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", shm}).take().exit_status, 0);
  ::setenv("EARTH_STEP_SCRATCH_DIR", shm.c_str(), 1);
  auto has_note = [](const Captured& c) {
    return std::any_of(c.err.begin(), c.err.end(), [](const std::string& l) {
      return l.find("filled its memory scratch") != std::string::npos;
    });
  };
  // Silent about it: the full tmpfs alone tells.
  auto big = sh("head -c 33554432 /dev/zero > /big 2>/dev/null; test $(wc -c < /big) = 33554432");
  // Says "No space left on device" (as GNU tools do; busybox says "I/O
  // error") and has removed what it wrote: the message alone tells.
  auto said = sh("head -c 33554432 /dev/zero > /big2 2>/dev/null || { rm -f /big2; "
                 "echo 'head: No space left on device' >&2; exit 1; }; echo -n ok > /ok");
  // Fails for another reason: not run again.
  auto other = sh("echo x > /x; exit 4");
  ::unsetenv("EARTH_STEP_SCRATCH_DIR");
  auto left = run_process({"sh", "-c", "ls -A " + shm}).take().out;
  run_process({"umount", shm}).take();
  ASSERT_TRUE(big.result.ok()) << big.result.error();
  EXPECT_EQ(big.result->exit_status, 0);
  EXPECT_TRUE(has_note(big));
  struct stat st {};
  ASSERT_EQ(::stat(fs::join(big.upper, "big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 33554432);
  ASSERT_TRUE(said.result.ok()) << said.result.error();
  EXPECT_EQ(said.result->exit_status, 0);
  EXPECT_TRUE(has_note(said));
  EXPECT_EQ(fs::read_file(fs::join(said.upper, "ok")).take(), "ok");
  ASSERT_TRUE(other.result.ok()) << other.result.error();
  EXPECT_EQ(other.result->exit_status, 4);
  EXPECT_FALSE(has_note(other));
  EXPECT_EQ(fs::read_file(fs::join(other.upper, "x")).take(), "x\n");
  EXPECT_EQ(left, "") << "the memory scratch is removed";
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

// overlayfs refuses a dir given twice; the engine's empty steps all share
// one dir, so a layer repeated in the stack is kept at its topmost place
// (what a lower repeat shows, the upper copy already shows).
TEST_F(LinuxRuntimeTest, ARepeatedLayerIsMountedOnce) {
  std::string a = fs::join(dir_->path(), "repeat-a"), b = fs::join(dir_->path(), "repeat-b");
  for (const auto& [d, text] : {std::pair{a, "a"}, {b, "b"}}) {
    fs::make_dirs(d).take();
    fs::write_file_atomic(fs::join(d, "f"), text).take();
  }
  fs::write_file_atomic(fs::join(b, "only-b"), "b").take();
  RunSpec spec;
  spec.lower_dirs = {rootfs_, a, b, a, a};
  auto c = sh("cat /f /only-b", spec);
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_EQ(c.out, std::vector<std::string>{"ab"});
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
}

TEST_F(LinuxRuntimeTest, MountinfoShowsNoHostPath) {
  // Layers, upper and work dir all in the test's dir: a named (disk) work
  // dir, then the memory scratch.
  RunSpec disk;
  disk.lower_dirs = {rootfs_, fs::join(dir_->path(), "mountinfo-layer")};
  fs::make_dirs(disk.lower_dirs[1]).take();
  disk.work_dir = fs::join(dir_->path(), "mountinfo-work");
  disk.tmpfs = {{"/tmp", 0}};
  RunSpec memory = disk;
  memory.work_dir.clear();
  for (const RunSpec& spec : {disk, memory}) {
    auto c = sh("cat /proc/self/mountinfo /proc/self/mounts /proc/1/mountinfo 2>&1", spec);
    ASSERT_TRUE(c.result.ok()) << c.result.error();
    std::string all = join(c.out, "\n");
    EXPECT_NE(all.find(" / / "), std::string::npos) << all;
    EXPECT_NE(all.find("lowerdir="), std::string::npos) << all;
    EXPECT_EQ(all.find(dir_->path()), std::string::npos) << all;
    EXPECT_EQ(all.find("earth-sandbox-test"), std::string::npos) << all;
    EXPECT_EQ(all.find(".earth-step"), std::string::npos) << all;
  }
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
