#include <gtest/gtest.h>

#include "earth/exec/runtime.h"

namespace earth::exec {
namespace {

TEST(FakeRuntime, RecordsSpecsAndReturnsScriptedResults) {
  FakeRuntime fake;
  fake.push_result(RunResult{.exit_status = 2});
  fake.push_failure("exec cc: No such file or directory");
  RunSpec spec;
  spec.argv = {"make", "all"};
  spec.user = "nobody";

  auto first = fake.run(spec);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->exit_status, 2);
  EXPECT_FALSE(first->success());
  EXPECT_FALSE(fake.run(spec).ok());
  auto third = fake.run(spec);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->success());

  ASSERT_EQ(fake.runs().size(), 3u);
  EXPECT_EQ(fake.runs()[0].argv, (std::vector<std::string>{"make", "all"}));
  EXPECT_EQ(fake.runs()[0].user, "nobody");
}

TEST(FakeRuntime, ActionCanEmitOutput) {
  FakeRuntime fake;
  fake.set_action([](const RunSpec& s) -> Result<RunResult> {
    s.on_stdout("hello");
    return RunResult{.exit_status = 0};
  });
  std::vector<std::string> lines;
  RunSpec spec;
  spec.argv = {"echo", "hello"};
  spec.on_stdout = [&](std::string_view l) { lines.emplace_back(l); };
  ASSERT_TRUE(fake.run(spec).ok());
  EXPECT_EQ(lines, std::vector<std::string>{"hello"});
}

} // namespace
} // namespace earth::exec
