// What the engine reports to Status (docs/output.md): the events of a
// build, a failed step's details, and the time the cache saved.
#include <gtest/gtest.h>

#include <thread>

#include "earth/base/fs.h"
#include "earth/build/build.h"
#include "earth/resolve/resolve.h"
#include "fake_build.h"

namespace earth::build {
namespace {

class StatusEvents : public FakeBuild {
protected:
  // "exit N LINE…": prints each LINE word, exits N; anything else succeeds
  // after a few milliseconds.
  StatusEvents() {
    runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
      std::string script = spec.argv.back();
      if (!script.starts_with("exit ")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return exec::RunResult{.exit_status = 0};
      }
      size_t sp = script.find(' ', 5);
      int code = std::stoi(script.substr(5, sp - 5));
      for (size_t at = sp; at != std::string::npos;) {
        size_t next = script.find(' ', at + 1);
        spec.on_stdout(script.substr(at + 1, next == std::string::npos ? next : next - at - 1));
        at = next;
      }
      return exec::RunResult{.exit_status = code};
    });
  }

  output::BuildTotals build(const std::string& earthfile, const std::string& target) {
    EXPECT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "Earthfile"), earthfile).ok());
    return FakeBuild::build(target);
  }
  bool saw(const std::string& line) const {
    auto lines = status.lines();
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
};

TEST_F(StatusEvents, ASuccessfulBuild) {
  auto t = build("VERSION 0.8\nFROM scratch\nt:\n  RUN one\n  RUN two\n", "+t");
  EXPECT_TRUE(saw("queued +t"));
  EXPECT_TRUE(saw("start +t"));
  EXPECT_TRUE(saw("run +t RUN one"));
  EXPECT_TRUE(saw("done +t"));
  EXPECT_TRUE(t.success);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(status.totals().steps_run, 2u);
}

TEST_F(StatusEvents, ACacheHitSavesWhatTheStepTookWhenItRan) {
  const char* ef = "VERSION 0.8\nFROM scratch\nt:\n  RUN one\n  RUN two\n";
  auto first = build(ef, "+t");
  EXPECT_EQ(first.saved.count(), 0);
  auto second = build(ef, "+t");
  EXPECT_TRUE(saw("hit +t RUN one"));
  EXPECT_EQ(second.steps_cached, 2u);
  EXPECT_GE(second.saved, std::chrono::milliseconds(10)) << "two RUNs of 5ms each";
  EXPECT_EQ(status.totals().saved, second.saved);
}

TEST_F(StatusEvents, AFailedStepReportsItsStatusOutputAndHint) {
  EXPECT_THROW(
      build("VERSION 0.8\nFROM scratch\nbad:\n  RUN exit 127 sh: tool: not found\n", "+bad"),
      Error);
  EXPECT_TRUE(saw("step-failed +bad RUN exit 127 sh: tool: not found: the command exited with "
                  "status 127 (status 127, 4 lines) hint: a command was not found: is it "
                  "installed in the image, and on its PATH?"))
      << testing::PrintToString(status.lines());
  EXPECT_TRUE(saw("failed +bad"));
  auto t = status.totals();
  EXPECT_FALSE(t.success);
  EXPECT_EQ(t.targets_failed, 1u);
  EXPECT_NE(t.error.find("exited with status 127"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("hint: a command was not found"), std::string::npos) << t.error;
}

TEST_F(StatusEvents, TheTailIsTheLast30Lines) {
  std::string run = "RUN exit 1";
  for (int i = 0; i < 40; ++i) run += " l" + std::to_string(i);
  EXPECT_THROW(build("VERSION 0.8\nFROM scratch\nbad:\n  " + run + "\n", "+bad"), Error);
  auto lines = status.lines();
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.starts_with("step-failed"); });
  ASSERT_NE(it, lines.end());
  EXPECT_NE(it->find("(status 1, 30 lines)"), std::string::npos) << *it;
  EXPECT_NE(status.totals().error.find("  | l39"), std::string::npos);
  EXPECT_EQ(status.totals().error.find("  | l9\n"), std::string::npos);
}

} // namespace
} // namespace earth::build
