#include "earth/request/secrets.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/request/build_request.h"

namespace earth::request {
namespace {

class SecretsTest : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-secrets-test"};
  std::string path(const std::string& rel) { return fs::join(dir.path(), rel); }
  void write(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(fs::write_file_atomic(path(rel), text).ok());
  }
  void TearDown() override {
    for (const char* v : {"EARTH_SECRETS", "EARTHLY_SECRETS", "EARTH_SECRET_FILES",
                          "EARTHLY_SECRET_FILES", "SIDE_TEST_TOKEN"})
      unsetenv(v);
  }
};

TEST(DotenvTest, EarthlysFormat) {
  auto kv = parse_dotenv("# c\n\nA=plain value  # comment\nexport B='lit $x \\n'\n"
                         "C=\"two\\nlines \\\"q\\\"\" # c\n  D = spaced \nE=\nF=\"multi\nline\"\n",
                         ".secret");
  ASSERT_EQ(kv.size(), 6u);
  EXPECT_EQ(kv[0], std::make_pair(std::string("A"), std::string("plain value")));
  EXPECT_EQ(kv[1].second, "lit $x \\n");
  EXPECT_EQ(kv[2].second, "two\nlines \"q\"");
  EXPECT_EQ(kv[3], std::make_pair(std::string("D"), std::string("spaced")));
  EXPECT_EQ(kv[4].second, "");
  EXPECT_EQ(kv[5].second, "multi\nline");
}

TEST(DotenvTest, ErrorsNameTheLineNotTheValue) {
  try {
    parse_dotenv("A=1\n\nnot a pair hunter2\n", ".secret");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(".secret:3"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_dotenv("A=\"open\n", ".secret"), Error);
}

TEST_F(SecretsTest, LaterSourcesWin) {
  write(".secret", "a=file\nb=file\nc=file\nd=file\n");
  write("d.txt", "from-secret-file");
  setenv("EARTH_SECRETS", "b=env,c=env", 1);
  setenv("SIDE_TEST_TOKEN", "from-env-var", 1);
  SecretSources s;
  s.secret_file = path(".secret");
  s.secret_file_flags = {"d=" + path("d.txt")};
  s.secret_flags = {"c=flag", "SIDE_TEST_TOKEN", "e=x=y"};
  auto got = collect_secrets(s);
  EXPECT_EQ(got["a"], "file");
  EXPECT_EQ(got["b"], "env");
  EXPECT_EQ(got["c"], "flag");
  EXPECT_EQ(got["d"], "from-secret-file");
  EXPECT_EQ(got["SIDE_TEST_TOKEN"], "from-env-var");
  EXPECT_EQ(got["e"], "x=y");
}

TEST_F(SecretsTest, EarthlySpellingsAndFiles) {
  write("k", "key-bytes\n");
  setenv("EARTHLY_SECRETS", "a=1, b=2", 1);
  setenv("EARTHLY_SECRET_FILES", ("k=" + path("k")).c_str(), 1);
  SecretSources s;
  s.secret_file = path("absent");
  auto got = collect_secrets(s);
  EXPECT_EQ(got["a"], "1");
  EXPECT_EQ(got["b"], "2");
  EXPECT_EQ(got["k"], "key-bytes\n");
}

TEST_F(SecretsTest, MissingValuesAreErrorsNamingTheId) {
  SecretSources s;
  s.secret_file.clear();
  s.secret_flags = {"SIDE_TEST_UNSET_VAR"};
  try {
    collect_secrets(s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SIDE_TEST_UNSET_VAR"), std::string::npos);
  }
  s.secret_flags.clear();
  s.secret_file_flags = {"k=" + path("nope")};
  EXPECT_THROW(collect_secrets(s), Error);
  s.secret_file_flags = {"=x"};
  EXPECT_THROW(collect_secrets(s), Error);
}

TEST_F(SecretsTest, TheBuildRequestReadsTheFlags) {
  write(".secret", "fromfile=1\n");
  auto req = parse_build_request(
      {"--secret", "a=b", "-s=c=d", "--secret-file-path", ".secret", "+t", "--secret=not-a-secret"},
      dir.path());
  EXPECT_EQ(req.secrets.at("a"), "b");
  EXPECT_EQ(req.secrets.at("c"), "d");
  EXPECT_EQ(req.secrets.at("fromfile"), "1");       // .secret is under the request's dir
  EXPECT_EQ(req.secrets.count("not-a-secret"), 0u); // after the target: a build arg
}

} // namespace
} // namespace earth::request
