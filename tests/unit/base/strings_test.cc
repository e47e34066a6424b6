#include "earth/base/strings.h"

#include <gtest/gtest.h>

TEST(Strings, Split) {
  EXPECT_EQ(earth::split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(earth::split("", ','), (std::vector<std::string>{""}));
}

TEST(Strings, TrimAndJoin) {
  EXPECT_EQ(earth::trim("  x y\t\n"), "x y");
  EXPECT_EQ(earth::join({"a", "b"}, ", "), "a, b");
}

TEST(Strings, EditDistance) {
  EXPECT_EQ(earth::edit_distance("build", "biuld"), 2u);
  EXPECT_EQ(earth::edit_distance("build", "buildx"), 1u);
  EXPECT_EQ(earth::edit_distance("", "abc"), 3u);
}

TEST(Strings, FormatBytes) {
  EXPECT_EQ(earth::format_bytes(512), "512 B");
  EXPECT_EQ(earth::format_bytes(1536), "1.5 KiB");
}
