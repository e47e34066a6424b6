#include <gtest/gtest.h>

#include "earth/exec/runtime.h"

#include <atomic>
#include <thread>

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

// As with the real runtime, output reaches both sinks of its stream.
TEST(FakeRuntime, ALineReachesTheByteSinkToo) {
  FakeRuntime fake;
  fake.set_action([](const RunSpec& s) -> Result<RunResult> {
    s.on_stdout("out");
    s.on_stderr("err");
    return RunResult{.exit_status = 0};
  });
  std::vector<std::string> lines;
  std::string out, err;
  RunSpec spec;
  spec.on_stdout = [&](std::string_view l) { lines.emplace_back(l); };
  spec.on_stdout_bytes = [&](std::string_view b) { out.append(b); };
  spec.on_stderr_bytes = [&](std::string_view b) { err.append(b); };
  ASSERT_TRUE(fake.run(spec).ok());
  EXPECT_EQ(lines, std::vector<std::string>{"out"});
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n"); // no line sink for stderr: the bytes still come
}

TEST(FakeRuntime, RecordsRunsFromManyThreads) {
  FakeRuntime fake;
  for (int i = 0; i < 50; ++i) fake.push_result(RunResult{.exit_status = 1});
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      RunSpec spec;
      spec.argv = {"step"};
      for (int i = 0; i < 100; ++i)
        if (!fake.run(spec)->success()) ++failed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(fake.run_count(), 800u);
  EXPECT_EQ(fake.runs().size(), 800u);
  EXPECT_EQ(failed.load(), 50) << "each scripted result is used exactly once";
}

TEST(FakeRuntime, HeldRunsWaitUntilReleasedInOrder) {
  FakeRuntime fake;
  fake.hold_runs(true);
  std::mutex mutex;
  std::vector<std::string> finished;
  fake.set_action([&](const RunSpec& s) -> Result<RunResult> {
    std::lock_guard lock(mutex);
    finished.push_back(s.argv[0]);
    return RunResult{.exit_status = 0};
  });
  auto start = [&](std::string name) {
    return std::thread([&fake, name] {
      RunSpec spec;
      spec.argv = {name};
      (void)fake.run(spec);
    });
  };
  std::thread a = start("a");
  ASSERT_TRUE(fake.wait_for_held(1));
  std::thread b = start("b");
  ASSERT_TRUE(fake.wait_for_held(2)) << "both runs are in flight at once";
  EXPECT_EQ(fake.run_count(), 2u);
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(finished.empty());
  }
  fake.release_one();
  a.join();
  EXPECT_EQ(fake.held_count(), 1u);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(finished, std::vector<std::string>{"a"}) << "the oldest goes first";
  }
  fake.hold_runs(false);
  b.join();
  EXPECT_EQ(fake.held_count(), 0u);
  EXPECT_FALSE(fake.wait_for_held(1, std::chrono::milliseconds(10)));
  fake.hold_runs(true);
  fake.release_one(); // a credit: the next run goes straight through
  RunSpec spec;
  spec.argv = {"c"};
  EXPECT_TRUE(fake.run(spec).ok());
}

} // namespace
} // namespace earth::exec
