#include "earth/request/build_request.h"

#include <cstdlib>
#include <map>

#include <gtest/gtest.h>

#include "earth/base/fs.h"

namespace earth::request {
namespace {

std::map<std::string, std::string>
last_values(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> last;
  for (const auto& [k, v] : overrides) last[k] = v;
  return last;
}

class BuildRequestTest : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-request-test"};

  void write(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), rel), text).ok());
  }
};

TEST_F(BuildRequestTest, CollectOverridesPrecedence) {
  write(".arg", "# comment\nA=file\nB=file\nC=\"q\"\n");
  auto last = last_values(
      collect_overrides(fs::join(dir.path(), ".arg"), {"B=flag"}, {"--A=cli", "--D", "d"}));
  EXPECT_EQ(last["A"], "cli");
  EXPECT_EQ(last["B"], "flag");
  EXPECT_EQ(last["C"], "\"q\"");
  EXPECT_EQ(last["D"], "d");
}

TEST_F(BuildRequestTest, BuildArgsFromEnvironment) {
  setenv("EARTHLY_BUILD_ARGS", "A=earthly,B=earthly", 1);
  setenv("EARTH_BUILD_ARGS", "B=earth", 1);
  auto o = collect_overrides("", {}, {});
  unsetenv("EARTHLY_BUILD_ARGS");
  unsetenv("EARTH_BUILD_ARGS");
  auto last = last_values(o);
  EXPECT_EQ(last["A"], "earthly");
  EXPECT_EQ(last["B"], "earth");
}

TEST_F(BuildRequestTest, FlagsTargetAndArgsWithTheArgFileOfADirectory) {
  write(".arg", "A=file\nB=file\n");
  BuildRequest req = parse_build_request(
      {"--push", "-j", "3", "--dry-run", "+t", "--A=cli", "--build-arg", "C=c"}, dir.path());
  EXPECT_EQ(req.target, "+t");
  EXPECT_TRUE(req.options.push);
  EXPECT_TRUE(req.dry_run);
  EXPECT_EQ(req.jobs, 3u);
  EXPECT_EQ(req.arg_flags, (std::vector<std::string>{"--A=cli"}));
  auto last = last_values(req.options.overrides);
  EXPECT_EQ(last["A"], "cli");
  EXPECT_EQ(last["B"], "file");
  EXPECT_EQ(last["C"], "c");
}

TEST_F(BuildRequestTest, ArtifactNamesItsTargetAndDestination) {
  BuildRequest req = parse_build_request({"--artifact", "+t/out/x", "dest"}, dir.path());
  EXPECT_EQ(req.target, "+t");
  EXPECT_EQ(req.artifact, "+t/out/x");
  EXPECT_EQ(req.artifact_dest, "dest");
  EXPECT_THROW(parse_build_request({"--artifact", "+t"}, dir.path()), Error);
  EXPECT_THROW(parse_build_request({"--dry-run"}, dir.path()), Error);
}

TEST(IsBuildInvocationTest, TargetsAndBuildFlagsOnly) {
  EXPECT_TRUE(is_build_invocation({"+t"}));
  EXPECT_TRUE(is_build_invocation({"--push", "./lib+t"}));
  EXPECT_FALSE(is_build_invocation({"ls"}));
  EXPECT_FALSE(is_build_invocation({}));
}

} // namespace
} // namespace earth::request
