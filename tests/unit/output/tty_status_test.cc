// The tty printer on a pipe: what it writes, frame by frame. Its look in a
// real terminal is tested by tests/e2e/output_test.sh (tmux).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "earth/output/status.h"

namespace earth::output {
namespace {

class Pipe {
public:
  Pipe() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    ::fcntl(fds_[1], F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int writer() const { return fds_[1]; }
  std::string drain() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    return out;
  }

private:
  int fds_[2];
};

StepInfo step(std::string target, std::string text) {
  return {target, "Earthfile:3:3", std::move(text), "Earthfile", 3};
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(TtyStatus, LiveViewThenSummary) {
  Pipe pipe;
  PrinterOptions o;
  auto status = make_tty_status(pipe.writer(), o);
  status->target_started("+build");
  status->step_started(step("+build", "RUN make"));
  for (int i = 0; i < 5; ++i)
    status->step_output(step("+build", "RUN make"), "line " + std::to_string(i));
  std::string live; // frames come every 100ms: wait for two (a loaded machine is slower)
  for (int i = 0; i < 100 && count(live, "\033[?2026l") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    live += pipe.drain();
  }
  EXPECT_NE(live.find("+build  RUN make"), std::string::npos) << live;
  // The last 3 lines under the step, not the earlier ones.
  EXPECT_NE(live.find("    line 4"), std::string::npos) << live;
  EXPECT_EQ(live.find("    line 1"), std::string::npos) << live;
  EXPECT_NE(live.find("1 running"), std::string::npos) << live;
  EXPECT_NE(live.find("\033[?25l"), std::string::npos) << "the cursor is hidden while live";
  EXPECT_GE(count(live, "\033[?2026h"), 2u) << "a frame every 100ms";
  EXPECT_EQ(count(live, "\033[?2026h"), count(live, "\033[?2026l"));

  status->step_finished(step("+build", "RUN make"), std::chrono::milliseconds(1200));
  status->target_finished("+build", false, std::chrono::milliseconds(1300));
  BuildTotals t;
  t.success = true;
  t.targets = 1;
  t.steps_run = 1;
  status->build_finished(t);
  std::string end = pipe.drain();
  EXPECT_NE(end.find("✔ +build  done in 1.3s"), std::string::npos) << end;
  EXPECT_NE(end.find("Build succeeded in"), std::string::npos) << end;
  EXPECT_NE(end.find("\033[?25h"), std::string::npos) << "the cursor is shown again";
  // The last frame leaves no live line: after the summary nothing is redrawn.
  EXPECT_EQ(end.find("running", end.find("Build succeeded")), std::string::npos) << end;
  status.reset();
  EXPECT_EQ(pipe.drain(), "") << "nothing drawn after build_finished";
}

TEST(TtyStatus, FailureShowsTheStepsWholeOutput) {
  Pipe pipe;
  PrinterOptions o;
  o.unicode = false;
  auto status = make_tty_status(pipe.writer(), o);
  status->target_started("+bad");
  auto s = step("+bad", "RUN exit 3");
  status->step_started(s);
  for (int i = 0; i < 50; ++i) status->step_output(s, "out-" + std::to_string(i));
  status->step_failed(s, {"the command exited with status 3", 3, {}, "try this"});
  status->target_failed("+bad");
  BuildTotals t;
  t.targets_failed = 1;
  status->build_finished(t);
  std::string out = pipe.drain();
  EXPECT_NE(out.find("x +bad failed at Earthfile:3: RUN exit 3"), std::string::npos) << out;
  EXPECT_NE(out.find("  | out-0\033"), std::string::npos) << "the whole output: " << out;
  EXPECT_NE(out.find("  | out-49\033"), std::string::npos) << out;
  EXPECT_NE(out.find("hint: try this"), std::string::npos) << out;
  EXPECT_EQ(count(out, "+bad failed"), 1u) << "the target's line does not repeat the step's";
  EXPECT_NE(out.find("Build failed"), std::string::npos) << out;
}

TEST(TtyStatus, VerboseScrollsEveryLine) {
  Pipe pipe;
  PrinterOptions o;
  o.verbose = true;
  o.padding = 6;
  auto status = make_tty_status(pipe.writer(), o);
  status->target_started("+a");
  auto s = step("+a", "RUN x");
  status->step_started(s);
  for (int i = 0; i < 10; ++i) status->step_output(s, "v-" + std::to_string(i));
  status->build_finished({});
  std::string out = pipe.drain();
  for (int i = 0; i < 10; ++i)
    EXPECT_NE(out.find("    +a | v-" + std::to_string(i)), std::string::npos) << out;
}

// A pseudo-terminal of 60x8: a short one, where every running target still
// gets its line before any output line is shown.
TEST(TtyStatus, AShortTerminalShowsEveryTargetFirst) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  winsize ws{};
  ws.ws_row = 8;
  ws.ws_col = 60;
  ASSERT_EQ(::ioctl(slave, TIOCSWINSZ, &ws), 0);
  termios raw{};
  ::tcgetattr(slave, &raw);
  ::cfmakeraw(&raw);
  ::tcsetattr(slave, TCSANOW, &raw);
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  std::string out;
  auto drain = [&] {
    char buf[4096];
    for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) out.append(buf, n);
  };
  {
    auto status = make_tty_status(slave, PrinterOptions{});
    for (int t = 0; t < 4; ++t) {
      std::string name = "+t" + std::to_string(t);
      status->target_started(name);
      auto s = step(name, "RUN a-very-long-command-that-does-not-fit-in-sixty-columns-at-all");
      status->step_started(s);
      for (int i = 0; i < 5; ++i) status->step_output(s, name + "-line-" + std::to_string(i));
    }
    for (int i = 0; i < 100 && count(out, "\033[?2026l") < 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      drain();
    }
    drain();
    std::string frame = out.substr(0, out.find("\033[?2026l"));
    for (int t = 0; t < 4; ++t)
      EXPECT_NE(frame.find("+t" + std::to_string(t) + "  RUN"), std::string::npos) << frame;
    // 6 rows for the targets: 4 lines, and no room for 3 output lines each.
    EXPECT_EQ(frame.find("-line-"), std::string::npos) << frame;
    EXPECT_NE(frame.find("4 running"), std::string::npos) << frame;
    // Cut to 59 columns: no live line wraps.
    size_t at = 0;
    while ((at = frame.find("RUN a-very", at)) != std::string::npos) {
      size_t end = frame.find('\n', at);
      EXPECT_EQ(frame.substr(at, end - at).find("at-all"), std::string::npos) << frame;
      at = end;
    }
    status->build_finished({});
  }
  ::close(slave);
  ::close(master);
}

} // namespace
} // namespace earth::output
