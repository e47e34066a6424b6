#include "earth/config/config.h"

#include <gtest/gtest.h>

#include <map>

#include "earth/base/fs.h"

namespace earth::config {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(ConfigTest, ReadsWhatEarthUses) {
  auto c = parse("c.yml", "# mine\nglobal:\n  cache_dir: /var/cache/earth\n  cache_size_mb: 2048\n"
                          "  cache_size_pct: 40\n  jobs: 6\n  secret_provider: pass show\n"
                          "  buildkit_image: x  # Earthly's, ignored\n"
                          "registries:\n  docker.io:\n    mirrors: [mirror.gcr.io]\n"
                          "    username: u\n    password: p\npull:\n  parallel: 4\n"
                          "git:\n  github.com:\n    auth: ssh\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->cache_dir, "/var/cache/earth");
  EXPECT_EQ(c->cache_size_mb, 2048u);
  EXPECT_EQ(c->cache_size_pct, 40u);
  EXPECT_EQ(c->jobs, 6u);
  EXPECT_EQ(c->secret_provider, "pass show");
}

TEST(ConfigTest, EarthlyParallelismIsTheJobsDefault) {
  auto c = parse("c.yml", "global:\n  buildkit_max_parallelism: 3\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->jobs, 3u);
  c = parse("c.yml", "global:\n  buildkit_max_parallelism: 3\n  jobs: 5\n");
  EXPECT_EQ(c->jobs, 5u);
}

TEST(ConfigTest, EmptyOrMissingIsTheDefault) {
  auto c = parse("c.yml", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->jobs, 0u);
  EXPECT_TRUE(load("/nonexistent/config.yml").ok());
}

TEST(ConfigTest, UnknownKeyIsLocatedWithWhatIsAllowed) {
  auto c = parse("c.yml", "global:\n  cache_dri: /x\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("c.yml:2:3: error: unknown key 'cache_dri' in global"),
            std::string::npos)
      << c.error();
  EXPECT_NE(c.error().find("did you mean cache_dir?"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("allowed: cache_dir, cache_size_mb"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("^^^^^^^^^"), std::string::npos) << c.error(); // the code frame
}

TEST(ConfigTest, UnknownSectionAndRegistryKey) {
  auto c = parse("c.yml", "globl:\n  jobs: 2\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("c.yml:1:1: error: unknown section 'globl'"), std::string::npos);
  EXPECT_NE(c.error().find("did you mean global?"), std::string::npos) << c.error();
  c = parse("c.yml", "registries:\n  r.io:\n    mirror: [x]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("c.yml:3:5: error: unknown key 'mirror' in registries.r.io"),
            std::string::npos)
      << c.error();
}

TEST(ConfigTest, WrongTypesAreLocated) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"global:\n  jobs: many\n",
       "c.yml:2:9: error: global.jobs: expected an integer from 1 to 1024, not 'many'"},
      {"global:\n  jobs: 0\n", "expected an integer from 1 to 1024, not '0'"},
      {"global:\n  cache_size_pct: 101\n", "from 0 to 100, not '101'"},
      {"global:\n  cache_dir: [a]\n", "global.cache_dir: expected a string"},
      {"registries:\n  r.io:\n    insecure: maybe\n", "expected true or false, not 'maybe'"},
      {"registries:\n  r.io:\n    mirrors: m\n", "expected a list of strings"},
      {"global: 3\n", "c.yml:1:9: error: global: expected a mapping"},
      {"- a\n", "expected a mapping of sections"},
      {"global:\n  jobs: [1\n", "not valid YAML"},
  };
  for (const auto& c : cases) {
    auto r = parse("c.yml", c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().find(c.want), std::string::npos) << r.error();
  }
}

TEST(ConfigTest, PathPrecedence) {
  fs::TempDir home{"/tmp", "earth-config-home"};
  auto env = env_of({{"HOME", home.path()}});
  EXPECT_EQ(config_path("", env), home.path() + "/.earth/config.yml");
  ASSERT_TRUE(fs::make_dirs(home.path() + "/.earthly").ok());
  ASSERT_TRUE(fs::write_file_atomic(home.path() + "/.earthly/config.yml", "").ok());
  EXPECT_EQ(config_path("", env), home.path() + "/.earthly/config.yml"); // the fallback
  ASSERT_TRUE(fs::make_dirs(home.path() + "/.earth").ok());
  ASSERT_TRUE(fs::write_file_atomic(home.path() + "/.earth/config.yml", "").ok());
  EXPECT_EQ(config_path("", env), home.path() + "/.earth/config.yml");
  EXPECT_EQ(config_path("", env_of({{"HOME", "/h"}, {"EARTHLY_CONFIG", "/b"}})), "/b");
  EXPECT_EQ(config_path("", env_of({{"EARTH_CONFIG", "/a"}, {"EARTHLY_CONFIG", "/b"}})), "/a");
  EXPECT_EQ(config_path("/flag", env_of({{"EARTH_CONFIG", "/a"}})), "/flag");
}

TEST(ConfigEditTest, ReplacesAScalarKeepingComments) {
  std::string text = "# top\nglobal:\n  # jobs\n  jobs: 2 # two\n  cache_dir: /c\n";
  auto r = set_key("c.yml", text, "global.jobs", "8");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "# top\nglobal:\n  # jobs\n  jobs: 8 # two\n  cache_dir: /c\n");
}

TEST(ConfigEditTest, AddsMissingKeysAndSections) {
  auto r = set_key("c.yml", "global:\n  jobs: 2\n# end\n", "global.cache_dir", "/x");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "global:\n  jobs: 2\n  cache_dir: /x\n# end\n");
  r = set_key("c.yml", "global:\n  jobs: 2\n", "registries.docker.io.mirrors", "[mirror.gcr.io]");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "global:\n  jobs: 2\nregistries:\n  docker.io:\n    mirrors: [mirror.gcr.io]\n");
  auto c = parse("c.yml", *r);
  ASSERT_TRUE(c.ok()) << c.error();
  r = set_key("c.yml", "", "global.jobs", "4");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "global:\n  jobs: 4\n");
  r = set_key("c.yml", "global:\n", "global.jobs", "4");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "global:\n  jobs: 4\n");
}

TEST(ConfigEditTest, ReplacesABlockValue) {
  auto r = set_key("c.yml",
                   "registries:\n  r.io:\n    mirrors:\n      - a\n      - b\n    insecure: true\n",
                   "registries.r.io.mirrors", "[c]");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "registries:\n  r.io:\n    mirrors: [c]\n    insecure: true\n");
}

TEST(ConfigEditTest, RejectsUnknownKeysAndWrongTypes) {
  auto r = set_key("c.yml", "", "global.jbos", "4");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unknown key 'jbos' in global (allowed: cache_dir"), std::string::npos)
      << r.error();
  r = set_key("c.yml", "", "global.jobs", "lots");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("global.jobs: expected an integer from 1 to 1024, not 'lots'"),
            std::string::npos)
      << r.error();
  r = set_key("c.yml", "", "nope.x", "1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unknown key 'nope.x'"), std::string::npos);
}

TEST(DotenvTest, ReadsKeyValueLinesKeepingQuotes) {
  fs::TempDir dir{"/tmp", "earth-dotenv"};
  std::string p = dir.path() + "/.env";
  ASSERT_TRUE(
      fs::write_file_atomic(p, "# c\nEARTH_PUSH=1\n\nexport EARTH_CI=\"true\"\nA=b=c\n").ok());
  auto r = read_dotenv(p);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], (std::pair<std::string, std::string>{"EARTH_PUSH", "1"}));
  EXPECT_EQ((*r)[1].second, "\"true\"");
  EXPECT_EQ((*r)[2].second, "b=c");
  ASSERT_TRUE(fs::write_file_atomic(p, "A=1\noops\n").ok());
  r = read_dotenv(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(".env:2: expected KEY=value"), std::string::npos);
  EXPECT_TRUE(read_dotenv(dir.path() + "/missing").ok());
}

} // namespace
} // namespace earth::config
