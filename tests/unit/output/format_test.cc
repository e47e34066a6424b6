#include "../../../src/output/format.h"

#include <gtest/gtest.h>

namespace earth::output {
namespace {

using std::chrono::milliseconds;

TEST(Format, Seconds) {
  EXPECT_EQ(seconds(milliseconds(0)), "0ms");
  EXPECT_EQ(seconds(milliseconds(840)), "840ms");
  EXPECT_EQ(seconds(milliseconds(12345)), "12.3s");
  EXPECT_EQ(seconds(milliseconds(125000)), "2m05s");
}

TEST(Format, TargetColumnPadsRight) {
  EXPECT_EQ(target_column("+build", 10), "    +build");
  EXPECT_EQ(target_column("+build", 0), "+build");
  EXPECT_EQ(target_column("+build", -1), "+build");
}

TEST(Format, TargetColumnShortensDirectoriesOnly) {
  EXPECT_EQ(target_column("./services/api+test", 12), "./s/api+test");
  EXPECT_EQ(target_column("../lib/x+t", 5), "../l/x+t"); // ".." is kept, then ragged
  // Args are never shortened, even with a slash in them.
  EXPECT_EQ(target_column("+lib --V=a/b/c", 4), "+lib --V=a/b/c");
  EXPECT_EQ(target_column("./services/api+test", -1), "./services/api+test");
}

TEST(Format, FitCountsCodePointsAndKeepsEscapes) {
  EXPECT_EQ(display_width("✔ +a"), 4u);
  EXPECT_EQ(display_width("\033[32mok\033[0m"), 2u);
  EXPECT_EQ(fit("abcdef", 3), "abc");
  EXPECT_EQ(fit("✔✔✔✔", 2), "✔✔");
  EXPECT_EQ(fit("\033[32mabcdef\033[0m", 2), "\033[32mab\033[0m");
  EXPECT_EQ(fit("short", 80), "short");
}

TEST(Format, PrintableDropsControlsAndEscapes) {
  EXPECT_EQ(printable("a\tb"), "a       b");
  EXPECT_EQ(printable("\033[31mred\033[0m \033[2K"), "red ");
  EXPECT_EQ(printable("10%\r50%\r100%"), "100%");
  EXPECT_EQ(printable("crlf\r"), "crlf");
  EXPECT_EQ(printable(std::string("nul\0bel\a", 8)), "nulbel");
}

TEST(Format, SummaryCountsAndOutputs) {
  BuildTotals t;
  t.success = true;
  t.targets = 3;
  t.targets_cached = 1;
  t.steps_run = 4;
  t.steps_cached = 2;
  t.wall = milliseconds(1500);
  t.saved = milliseconds(20000);
  t.outputs.push_back({OutputInfo::Kind::artifact, "+build", "/p/out/app"});
  t.outputs.push_back({OutputInfo::Kind::image, "+img", "acme/app:1"});
  auto lines = summary_lines(t, Colours(false));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Build succeeded in 1.5s: 3 targets (2 built, 1 cached), 4 steps run, 2 "
                      "cached (the cache saved 20.0s)");
  EXPECT_EQ(lines[1], "  artifact  +build  /p/out/app");
  EXPECT_EQ(lines[2], "  image     +img    acme/app:1");
  t.success = false;
  t.targets = 0;
  t.targets_cached = 0;
  t.targets_failed = 1;
  t.saved = {};
  t.outputs.clear();
  EXPECT_EQ(summary_lines(t, Colours(false))[0],
            "Build failed in 1.5s: 1 target (0 built, 0 cached, 1 failed), 4 steps run, 2 cached");
}

} // namespace
} // namespace earth::output
