// Cleanup guarantees: an interrupted run, a killed earth, a signalled
// `earth debug run` leave no processes and no mounts behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "busybox_rootfs.h"
#include "earth/base/fs.h"
#include "earth/exec/linux_runtime.h"

namespace earth::exec {
namespace {

using namespace std::chrono_literals;

// Polls until no process mentions `marker`: the kernel tears a PID
// namespace down asynchronously after its PID 1 dies.
bool no_processes_within(const std::string& marker, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (testing::count_processes(marker) > 0) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string read_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

class InterruptTest : public ::testing::Test {
protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);
    rootfs_ = fs::join(dir_.path(), "rootfs");
    testing::make_busybox_rootfs(rootfs_);
  }
  void TearDown() override {
    clear_interrupt();
    EXPECT_EQ(testing::count_mounts(dir_.path()), 0);
    // A killed run leaves overlayfs's mode-000 work dirs behind.
    remove_scratch(dir_.path());
  }
  RunSpec sleeper(const std::string& marker) {
    RunSpec spec;
    spec.lower_dirs = {rootfs_};
    spec.argv = {"sh", "-c", "echo ready; " + marker};
    return spec;
  }
  fs::TempDir dir_{"/tmp", "earth-interrupt-test-"};
  std::string rootfs_;
};

TEST_F(InterruptTest, InterruptAllRunsKillsTheSandbox) {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  RunSpec spec = sleeper("sleep 4713");
  LinuxRuntime runtime;
  testing::Captured c;
  std::thread worker([&] {
    spec.on_stdout = [&](std::string_view) {
      std::lock_guard lock(m);
      ready = true;
      cv.notify_all();
    };
    c = testing::run_captured(runtime, dir_.path(), spec);
  });
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return ready; }));
  }
  interrupt_all_runs();
  worker.join();
  ASSERT_TRUE(c.result.ok()) << c.result.error();
  EXPECT_TRUE(c.result->interrupted);
  EXPECT_TRUE(no_processes_within("sleep 4713", 2s));

  auto again = testing::run_captured(runtime, dir_.path(), sleeper("sleep 4713"));
  ASSERT_TRUE(again.result.ok());
  EXPECT_TRUE(again.result->interrupted) << "no new sandbox starts after an interrupt";
  EXPECT_TRUE(again.out.empty());
}

TEST_F(InterruptTest, DeathOfEarthKillsTheSandbox) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    RunSpec spec = sleeper("sleep 4714");
    spec.on_stdout = [&](std::string_view) { (void)!::write(fds[1], "ready\n", 6); };
    LinuxRuntime runtime;
    (void)testing::run_captured(runtime, dir_.path(), spec);
    ::_exit(0);
  }
  ::close(fds[1]);
  EXPECT_EQ(read_line(fds[0]), "ready");
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(no_processes_within("sleep 4714", 2s));
}

struct DebugRun {
  pid_t pid = -1;
  int out = -1;
};

DebugRun start_debug_run(const std::string& earth, const std::string& rootfs,
                         const std::string& tmpdir, const std::string& marker) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::setenv("TMPDIR", tmpdir.c_str(), 1);
    ::execl(earth.c_str(), earth.c_str(), "debug", "run", "--rootfs", rootfs.c_str(), "--", "sh",
            "-c", ("echo ready; " + marker).c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

TEST_F(InterruptTest, SignalledDebugRunLeavesNothingBehind) {
  std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
  if (!fs::exists(earth)) GTEST_SKIP() << "the earth binary is not built";
  std::string tmpdir = fs::join(dir_.path(), "tmp");
  fs::make_dirs(tmpdir).take();
  struct Case {
    int sig;
    int expected_exit; // -1: killed by the signal
  };
  for (Case test : {Case{SIGTERM, 130}, Case{SIGINT, 130}, Case{SIGKILL, -1}}) {
    std::string marker = "sleep 47" + std::to_string(20 + test.sig);
    DebugRun run = start_debug_run(earth, rootfs_, tmpdir, marker);
    ASSERT_GT(run.pid, 0);
    EXPECT_EQ(read_line(run.out), "ready");
    ::kill(run.pid, test.sig);
    int status = 0;
    ::waitpid(run.pid, &status, 0);
    ::close(run.out);
    if (test.expected_exit >= 0) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == test.expected_exit)
          << "signal " << test.sig << " status " << status;
    }
    EXPECT_TRUE(no_processes_within(marker, 2s)) << "signal " << test.sig;
    EXPECT_EQ(testing::count_mounts(tmpdir), 0);
    if (test.sig != SIGKILL) {
      auto left = fs::read_file("/dev/null"); // scratch must be gone
      (void)left;
      EXPECT_TRUE(::rmdir(tmpdir.c_str()) == 0) << "scratch left in " << tmpdir;
      fs::make_dirs(tmpdir).take();
    }
  }
}

} // namespace
} // namespace earth::exec
