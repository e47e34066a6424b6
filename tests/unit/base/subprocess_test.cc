#include "earth/base/subprocess.h"

#include <gtest/gtest.h>

TEST(Subprocess, CapturesOutputAndStatus) {
  auto r = earth::run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_status, 3);
}

TEST(Subprocess, FeedsStdinAndHonoursCwd) {
  auto r = earth::run_process({"sh", "-c", "pwd; cat"}, "/tmp", "piped");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "/tmp\npiped");
}

TEST(Subprocess, MissingProgramFails) {
  auto r = earth::run_process({"/nonexistent/program"});
  EXPECT_FALSE(r.ok());
}

TEST(Subprocess, SignalIsReportedAs128PlusSignal) {
  auto r = earth::run_process({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_status, 128 + 9);
}
