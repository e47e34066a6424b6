// RUN's flag table as whole-target reuse reads it (src/build/run_flags.h):
// every spelling of a flag is the same flag.
#include "../../../src/build/run_flags.h"

#include <gtest/gtest.h>

namespace earth::build {
namespace {

resolve::CommandFlags parse(const std::vector<std::string>& words) {
  auto f = parse_run_flags(words, {});
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error());
  return f.ok() ? std::move(f).value() : resolve::CommandFlags{};
}

TEST(RunFlags, MountInBothSpellings) {
  auto spaced = parse({"--mount", "type=secret,id=x,target=/s", "cat", "/s"});
  auto joined = parse({"--mount=type=secret,id=x,target=/s", "cat", "/s"});
  EXPECT_EQ(spaced.all("--mount"), joined.all("--mount"));
  EXPECT_EQ(spaced.next, 2u);
  EXPECT_EQ(joined.next, 1u);
}

TEST(RunFlags, FlagsEndAtTheCommand) {
  auto f = parse({"--no-cache", "echo", "--secret", "--push"});
  EXPECT_TRUE(f.has("--no-cache"));
  EXPECT_TRUE(f.all("--secret").empty());
  EXPECT_FALSE(f.has("--push"));
  EXPECT_FALSE(parse_run_flags({"--bogus", "true"}, {}).ok());
}

TEST(RunFlags, LiteralMountType) {
  EXPECT_EQ(literal_mount_type("type=secret,id=x,target=/s"), "secret");
  EXPECT_EQ(literal_mount_type("target=/c,type=cache"), "cache");
  EXPECT_EQ(literal_mount_type("type=cache,target=$DIR,id=$ID"), "cache");
  EXPECT_EQ(literal_mount_type("type=tmpfs,type=ssh"), "ssh"); // the last wins
  EXPECT_EQ(literal_mount_type("target=/x"), "");
  EXPECT_EQ(literal_mount_type("type=$T,target=/x"), "");
  EXPECT_EQ(literal_mount_type("$M"), "");
  // Quotes around literal text are the shell's: the type is what the RUN,
  // expanding the spec before splitting it, sees.
  EXPECT_EQ(literal_mount_type("\"type=cache,target=/x\""), "cache");
  EXPECT_EQ(literal_mount_type("'type=cache',\"target=/x\""), "cache");
  EXPECT_EQ(literal_mount_type("type=cache,target=\"/a,type=secret\""), "secret");
  EXPECT_EQ(literal_mount_type("type=cache,target=\"/a\",'type=secret'"), "secret");
  // Unknown where expanding could change it: a variable or an escape with
  // quotes, or an unclosed quote.
  EXPECT_EQ(literal_mount_type("\"type=cache,target=$D\""), "");
  EXPECT_EQ(literal_mount_type("\"type=cache\\\",target=/x\""), "");
  EXPECT_EQ(literal_mount_type("\"type=cache,target=/x"), "");
}

} // namespace
} // namespace earth::build
