// The tty printer on a pipe: what it writes, frame by frame. Its look in a
// real terminal is tested by tests/e2e/output_test.sh (tmux).
#include <fcntl.h>
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

} // namespace
} // namespace earth::output
