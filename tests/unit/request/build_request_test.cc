#include "earth/request/build_request.h"

#include <cstdlib>
#include <map>

#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/request/flags.h"

namespace earth::request {
namespace {

std::map<std::string, std::string>
last_values(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> last;
  for (const auto& [k, v] : overrides) last[k] = v;
  return last;
}

std::optional<std::string> env_of_nothing(const std::string&) {
  return std::nullopt;
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

TEST_F(BuildRequestTest, BuildArgNamesAreNotChecked) {
  // As Earthly: a name no ARG can declare is passed on, simply unused.
  write(".arg", "wasi-src-dir=file\n1x=y\n");
  auto last = last_values(
      collect_overrides(fs::join(dir.path(), ".arg"), {"a.b=c"}, {"--my-flag=v"}, env_of_nothing));
  EXPECT_EQ(last["wasi-src-dir"], "file");
  EXPECT_EQ(last["1x"], "y");
  EXPECT_EQ(last["a.b"], "c");
  EXPECT_EQ(last["my-flag"], "v");
  // Only an empty name is an error.
  EXPECT_THROW(collect_overrides("", {"=v"}, {}, env_of_nothing), Error);
  write(".arg", "=v\n");
  EXPECT_THROW(collect_overrides(fs::join(dir.path(), ".arg"), {}, {}, env_of_nothing), Error);
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

TEST(IsBuildInvocationTest, ShortFlagsWithAnAttachedValue) {
  EXPECT_TRUE(is_build_invocation({"-j1", "+t"}));
  EXPECT_TRUE(is_build_invocation({"-PVj2", "+t"}));
  EXPECT_TRUE(is_build_invocation({"-a+t/out", "dest"}));
  EXPECT_FALSE(is_build_invocation({"-x1", "+t"}));
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string error_of(const std::vector<std::string>& words, const EnvLookup& env = env_of({})) {
  try {
    parse_build_request(words, "/nonexistent", env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BuildFlagsTest, EveryFlagParses) {
  auto none = env_of({});
  auto r = parse_build_request({"--no-cache", "-P", "--no-output", "--strict", "-V", "--profile",
                                "--platform=linux/amd64", "--jobs=7", "+t"},
                               "/nonexistent", none);
  EXPECT_TRUE(r.no_cache);
  EXPECT_TRUE(r.allow_privileged);
  EXPECT_TRUE(r.no_output);
  EXPECT_TRUE(r.strict);
  EXPECT_TRUE(r.verbose);
  EXPECT_TRUE(r.profile);
  EXPECT_EQ(r.options.platform, "linux/amd64");
  EXPECT_EQ(r.jobs, 7u);
  r = parse_build_request({"--image", "+img"}, "/nonexistent", none);
  EXPECT_TRUE(r.image_only);
  EXPECT_EQ(r.target, "+img");
  r = parse_build_request({"-a", "+t/x"}, "/nonexistent", none);
  EXPECT_EQ(r.artifact, "+t/x");
  r = parse_build_request({"--secret", "K=v", "-s", "L=w", "+t"}, "/nonexistent", none);
  EXPECT_EQ(r.secrets, (Secrets{{"K", "v"}, {"L", "w"}}));
  // Earthly's flags earth accepts and ignores (valued ones take their value).
  r = parse_build_request(
      {"--remote-cache", "r/c", "--pull", "-i", "--config", "c.yml", "--env-file-path", "e", "+t"},
      "/nonexistent", none);
  EXPECT_EQ(r.target, "+t");
}

TEST(BuildFlagsTest, ShortFlagsAsPflagReadsThem) {
  auto none = env_of({});
  EXPECT_EQ(parse_build_request({"-j1", "+t"}, "/x", none).jobs, 1u);
  EXPECT_EQ(parse_build_request({"-j=3", "+t"}, "/x", none).jobs, 3u);
  auto r = parse_build_request({"-PVj2", "+t"}, "/x", none);
  EXPECT_TRUE(r.allow_privileged);
  EXPECT_TRUE(r.verbose);
  EXPECT_EQ(r.jobs, 2u);
  // After the target a word is a build arg, not split.
  EXPECT_NE(error_of({"+t", "-j9"}).find("invalid build arg '-j9'"), std::string::npos);
  r = parse_build_request({"-P=false", "-a+t/out", "dest"}, "/x", none);
  EXPECT_FALSE(r.allow_privileged);
  EXPECT_EQ(r.artifact, "+t/out");
  EXPECT_EQ(r.artifact_dest, "dest");
  EXPECT_EQ(parse_build_request({"-sK=v", "+t"}, "/x", none).secrets, (Secrets{{"K", "v"}}));
  EXPECT_NE(error_of({"-Px", "+t"}).find("unknown flag -Px"), std::string::npos);
}

TEST(BuildFlagsTest, BooleanValuesAsEarthlyReadsThem) {
  auto none = env_of({});
  EXPECT_TRUE(parse_build_request({"--push=True", "+t"}, "/x", none).options.push);
  EXPECT_TRUE(parse_build_request({"--push=1", "+t"}, "/x", none).options.push);
  EXPECT_FALSE(parse_build_request({"--push=0", "+t"}, "/x", none).options.push);
  EXPECT_NE(error_of({"--push=yes", "+t"}).find("--push is true or false, not 'yes'"),
            std::string::npos);
}

TEST(BuildFlagsTest, EnvironmentEquivalents) {
  auto env = env_of({{"EARTH_NO_CACHE", "1"},
                     {"EARTHLY_ALLOW_PRIVILEGED", "true"},
                     {"EARTH_JOBS", "3"},
                     {"EARTHLY_PLATFORMS", "linux/arm64"},
                     {"EARTH_STRICT", "false"},
                     {"EARTHLY_STRICT", "true"}});
  auto r = parse_build_request({"+t"}, "/x", env);
  EXPECT_TRUE(r.no_cache);
  EXPECT_TRUE(r.allow_privileged);
  EXPECT_EQ(r.jobs, 3u);
  EXPECT_EQ(r.options.platform, "linux/arm64");
  EXPECT_FALSE(r.strict); // EARTH_X beats EARTHLY_X
}

// The printer is chosen from --progress and its variables here only (the
// CLI's make_status reads no environment).
TEST(BuildFlagsTest, ProgressFromTheFlagOrTheEnvironment) {
  EXPECT_EQ(parse_build_request({"+t"}, "/x", env_of({})).progress, "");
  EXPECT_EQ(parse_build_request({"+t"}, "/x", env_of({{"EARTHLY_PROGRESS", "json"}})).progress,
            "json");
  auto both = env_of({{"EARTH_PROGRESS", "plain"}, {"EARTHLY_PROGRESS", "json"}});
  EXPECT_EQ(parse_build_request({"+t"}, "/x", both).progress, "plain");
  EXPECT_EQ(parse_build_request({"--progress=tty", "+t"}, "/x", both).progress, "tty");
  // A set EARTH_PROGRESS decides, as any EARTH_X: empty is the default.
  auto empty = env_of({{"EARTH_PROGRESS", ""}, {"EARTHLY_PROGRESS", "json"}});
  EXPECT_EQ(parse_build_request({"+t"}, "/x", empty).progress, "");
}

TEST(BuildFlagsTest, TheFlagBeatsTheEnvironment) {
  auto env = env_of({{"EARTH_NO_CACHE", "1"}, {"EARTH_JOBS", "3"}, {"EARTH_PUSH", "true"}});
  auto r = parse_build_request({"--no-cache=false", "-j", "5", "--push=false", "+t"}, "/x", env);
  EXPECT_FALSE(r.no_cache);
  EXPECT_EQ(r.jobs, 5u);
  EXPECT_FALSE(r.options.push);
}

TEST(BuildFlagsTest, CiFromTheEnvironment) {
  auto r = parse_build_request({"+t"}, "/x", env_of({{"EARTHLY_CI", "1"}}));
  EXPECT_TRUE(r.strict);
  EXPECT_TRUE(r.no_output);
  r = parse_build_request({"+t"}, "/x", env_of({{"EARTH_CI", "1"}, {"EARTH_OUTPUT", "1"}}));
  EXPECT_FALSE(r.no_output);
}

TEST(BuildFlagsTest, BadValuesAreUsageErrors) {
  EXPECT_NE(error_of({"+t"}, env_of({{"EARTH_PUSH", "maybe"}})).find("EARTH_PUSH is true or false"),
            std::string::npos);
  EXPECT_NE(error_of({"-j", "0", "+t"}).find("-j needs a number of jobs from 1 to 1024"),
            std::string::npos);
  EXPECT_NE(error_of({"+t"}, env_of({{"EARTH_JOBS", "x"}})).find("not 'x'"), std::string::npos);
  EXPECT_NE(error_of({"--platform"}).find("--platform needs a value"), std::string::npos);
}

TEST(BuildFlagsTest, UnknownFlagsGetASuggestion) {
  EXPECT_NE(
      error_of({"--no-cahce", "+t"}).find("unknown flag --no-cahce; did you mean --no-cache?"),
      std::string::npos);
  EXPECT_NE(error_of({"--pus", "+t"}).find("did you mean --push?"), std::string::npos);
  std::string far = error_of({"--zzzzzz", "+t"});
  EXPECT_NE(far.find("unknown flag --zzzzzz"), std::string::npos);
  EXPECT_EQ(far.find("did you mean"), std::string::npos);
}

TEST(BuildFlagsTest, ArgFileFromTheEnvironmentAndCliArgsBeatIt) {
  fs::TempDir dir{"/tmp", "earth-request-env"};
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/my.arg", "A=file\nB=file\n").ok());
  auto r = parse_build_request({"+t", "--A=cli"}, dir.path(),
                               env_of({{"EARTH_ARG_FILE_PATH", "my.arg"}}));
  auto last = last_values(r.options.overrides);
  EXPECT_EQ(last["A"], "cli");
  EXPECT_EQ(last["B"], "file");
}

TEST(ClosestTest, Typos) {
  EXPECT_EQ(closest("otu", {"out", "ls"}), "out");
  EXPECT_EQ(closest("+biuld", {"+build", "+test"}), "+build");
  EXPECT_EQ(closest("xyz", {"build"}), "");
  EXPECT_EQ(parse_bool("T"), true);
  EXPECT_EQ(parse_bool("False"), false);
  EXPECT_EQ(parse_bool("yes"), std::nullopt);
}

} // namespace
} // namespace earth::request
