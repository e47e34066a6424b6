// Secrets, LOCALLY and the push phase in the engine, against the fake
// runtime (LOCALLY runs real host commands: sh, in a temp dir).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <filesystem>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/build/build.h"
#include "earth/resolve/resolve.h"
#include "fake_build.h"

namespace earth::build {
namespace {

class SideTest : public FakeBuild {
protected:
  void earthfile(const std::string& text) {
    ASSERT_TRUE(fs::write_file_atomic(fs::join(dir.path(), "Earthfile"), text).ok());
  }
  static BuildOptions with_secret(const std::string& value) {
    BuildOptions o;
    o.secrets["tok"] = value;
    return o;
  }
  std::string all_status() const { return join(status.lines(), "\n"); }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(SideTest, ASecretReachesTheStepButNotItsKey) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --secret TOK=tok step\n");
  build("+t", with_secret("first-value"));
  ASSERT_EQ(runtime.run_count(), 1u);
  EXPECT_TRUE(has(runtime.runs()[0].env, "TOK=first-value"));
  auto totals = build("+t", with_secret("second-value"));
  EXPECT_EQ(runtime.run_count(), 1u) << "a new secret value must not bust the cache";
  EXPECT_EQ(totals.steps_cached, 1u);
  // The variable it goes to is part of the key.
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --secret OTHER=tok step\n");
  build("+t", with_secret("second-value"));
  EXPECT_EQ(runtime.run_count(), 2u);
}

TEST_F(SideTest, ASecretFileIsAReadOnlyBindOfMode0400) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --mount type=secret,id=tok,target=s/f step\n");
  std::string seen_source, seen_value;
  mode_t seen_mode = 0;
  bool read_only = false;
  runtime.set_action([&](const exec::RunSpec& spec) -> Result<exec::RunResult> {
    for (const auto& m : spec.mounts)
      if (m.target == "/s/f") {
        seen_source = m.source;
        seen_value = fs::read_file(m.source).value();
        struct stat st;
        ::stat(m.source.c_str(), &st);
        seen_mode = st.st_mode & 07777;
        read_only = m.read_only;
      }
    return exec::RunResult{.exit_status = 0};
  });
  build("+t", with_secret("file-value"));
  EXPECT_EQ(seen_value, "file-value");
  EXPECT_EQ(seen_mode, 0400u);
  EXPECT_TRUE(read_only);
  EXPECT_FALSE(seen_source.starts_with(cache.path())) << seen_source;
  EXPECT_FALSE(fs::exists(seen_source)) << "the secret file outlived its step";
}

// A listening unix socket at `path` (an agent's stand-in); its fd.
int listen_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 1), 0);
  return fd;
}

TEST_F(SideTest, TheSshAgentIsBoundInButNotKeyed) {
  std::string sock = fs::join(dir.path(), "agent.sock");
  int fd = listen_unix(sock);
  BuildOptions o;
  o.ssh_auth_sock = sock;
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --ssh step\n"
            "  RUN --mount type=ssh,target=/a.sock --mount=type=ssh two\n");
  build("+t", o);
  ASSERT_EQ(runtime.run_count(), 2u);
  const auto one = runtime.runs()[0];
  ASSERT_EQ(one.mounts.size(), 1u);
  EXPECT_EQ(one.mounts[0].source, sock);
  EXPECT_EQ(one.mounts[0].target, "/run/buildkit/ssh_agent.0");
  EXPECT_TRUE(has(one.env, "SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0"));
  const auto two = runtime.runs()[1];
  ASSERT_EQ(two.mounts.size(), 2u);
  EXPECT_EQ(two.mounts[0].target, "/a.sock");
  EXPECT_EQ(two.mounts[1].target, "/run/buildkit/ssh_agent.1");
  EXPECT_TRUE(has(two.env, "SSH_AUTH_SOCK=/a.sock"));
  // Without --ssh (and without an agent) the same steps are hits.
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN step\n  RUN two\n");
  auto totals = build("+t");
  EXPECT_EQ(runtime.run_count(), 2u) << "--ssh must not enter the key";
  EXPECT_EQ(totals.steps_cached, 2u);
  ::close(fd);
}

TEST_F(SideTest, SshWithoutAnAgentIsALocatedError) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN true\n  IF --ssh true\n  END\n");
  try {
    build("+t");
    FAIL();
  } catch (const resolve::DiagnosticError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Earthfile:5:3"), std::string::npos) << m;
    EXPECT_NE(m.find("IF forwards the SSH agent, but no agent"), std::string::npos) << m;
  }
}

TEST_F(SideTest, AMissingSecretIsALocatedErrorNamingIt) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --secret K=deploy step\n");
  try {
    build("+t", with_secret("unrelated"));
    FAIL();
  } catch (const resolve::DiagnosticError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Earthfile:4:3"), std::string::npos) << m;
    EXPECT_NE(m.find("'deploy'"), std::string::npos) << m;
    EXPECT_EQ(m.find("unrelated"), std::string::npos) << m;
  }
  EXPECT_EQ(runtime.run_count(), 0u);
}

TEST_F(SideTest, OutputAndErrorsShowSecretsAsStars) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  RUN --secret TOK=tok step\n");
  runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
    spec.on_stdout("the token is hunter2-value!");
    return exec::RunResult{.exit_status = 2};
  });
  try {
    build("+t", with_secret("hunter2-value"));
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("the token is ***!"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  }
  EXPECT_NE(all_status().find("the token is ***!"), std::string::npos) << all_status();
  EXPECT_EQ(all_status().find("hunter2"), std::string::npos) << all_status();
}

// Every file under `root` holding `value` (binary files too).
std::vector<std::string> files_holding(const std::string& root, const std::string& value) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file())
      if (auto text = fs::read_file(e.path().string());
          text && text->find(value) != std::string::npos)
        out.push_back(e.path().string());
  return out;
}

// A FOR --secret shell-out prints the secret: its value is never stored (it
// runs on every build), shown as ***, kept in explain records as a digest;
// the step that sees it is reused while the value is the same.
TEST_F(SideTest, ASecretShellOutIsNeverStoredAndItsValueIsRedacted) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  FOR --secret tok x IN $(print-it)\n"
            "    RUN step \"$x\"\n  END\n");
  runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
    if (spec.argv.back() == "print-it")
      for (const auto& e : spec.env)
        if (e.starts_with("tok=")) spec.on_stdout_bytes("derived-" + e.substr(4) + "\n");
    if (spec.argv.back() != "print-it" && spec.on_stdout) spec.on_stdout("x is " + spec.env.back());
    return exec::RunResult{.exit_status = 0};
  });
  BuildOptions o = with_secret("hunter2-value");
  o.explain = true;
  build("+t", o);
  EXPECT_EQ(runtime.run_count(), 2u);
  build("+t", o);
  EXPECT_EQ(runtime.run_count(), 3u) << "the shell-out runs again, the RUN is reused";
  EXPECT_EQ(files_holding(cache.path(), "hunter2"), std::vector<std::string>{});
  EXPECT_EQ(all_status().find("hunter2"), std::string::npos) << all_status();
  EXPECT_NE(all_status().find("x is x=***"), std::string::npos) << all_status();
  std::string records;
  for (const auto& e : std::filesystem::directory_iterator(fs::join(cache.path(), "explain")))
    records += fs::read_file(e.path().string()).value();
  EXPECT_NE(records.find("x=<secret "), std::string::npos) << records;
}

// An IF condition's stdout is never kept, whatever it prints.
TEST_F(SideTest, AConditionsOutputIsNotStored) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  IF --secret tok cond\n    RUN step\n  END\n");
  runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
    if (spec.on_stdout_bytes) spec.on_stdout_bytes("printed hunter2-value\n");
    return exec::RunResult{.exit_status = 0};
  });
  build("+t", with_secret("hunter2-value"));
  build("+t", with_secret("another-value"));
  EXPECT_EQ(runtime.run_count(), 2u) << "a new secret value reruns neither";
  EXPECT_EQ(files_holding(cache.path(), "hunter2"), std::vector<std::string>{});
}

const char* kPush = R"(VERSION 0.8
FROM scratch
all:
  BUILD +deploy
  BUILD +other
deploy:
  RUN before
  RUN --push deploy-it
  RUN after
other:
  RUN other-step
via-from:
  FROM +deploy
)";

TEST_F(SideTest, RunPushRunsOnlyWithPushAfterEverythingElse) {
  earthfile(kPush);
  auto totals = build("+all");
  EXPECT_FALSE(has(scripts(), "deploy-it"));
  ASSERT_EQ(totals.notes.size(), 1u);
  EXPECT_NE(totals.notes[0].find("did not run: RUN --push deploy-it"), std::string::npos);
  BuildOptions push;
  push.push = true;
  build("+all", push);
  auto s = scripts();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back(), "deploy-it") << "the push runs last";
  // Never cached: again with --push, it runs again (and nothing else does).
  size_t before = runtime.run_count();
  build("+all", push);
  EXPECT_EQ(runtime.run_count(), before + 1);
  EXPECT_EQ(scripts().back(), "deploy-it");
}

TEST_F(SideTest, APushReachedThroughFromIsNotDone) {
  earthfile(kPush);
  BuildOptions push;
  push.push = true;
  build("+via-from", push);
  EXPECT_FALSE(has(scripts(), "deploy-it"));
}

TEST_F(SideTest, SaveImagePushNeedsAName) {
  earthfile("VERSION 0.8\nFROM scratch\nt:\n  SAVE IMAGE --push\n");
  EXPECT_THROW(build("+t"), resolve::DiagnosticError);
}

TEST_F(SideTest, LocallyRunsOnTheHostInTheEarthfilesDirEveryTime) {
  earthfile("VERSION 0.8\nt:\n  LOCALLY\n  ARG X=one\n"
            "  RUN echo \"$X $(pwd) $SIDE_UNIT_VAR\" >> out.txt\n"
            "  SAVE ARTIFACT out.txt\n"
            "u:\n  FROM scratch\n  COPY +t/out.txt /in.txt\n  RUN consume\n");
  setenv("SIDE_UNIT_VAR", "from-host", 1);
  build("+u");
  build("+u");
  unsetenv("SIDE_UNIT_VAR");
  std::string line = "one " + dir.path() + " from-host\n";
  EXPECT_EQ(fs::read_file(fs::join(dir.path(), "out.txt")).value(), line + line);
  EXPECT_EQ(runtime.run_count(), 2u) << "a new artifact each time reruns its users";
}

TEST_F(SideTest, LocallyIsRefusedUnderStrict) {
  earthfile("VERSION 0.8\nt:\n  LOCALLY\n  RUN touch ran.txt\n");
  BuildOptions strict;
  strict.strict = true;
  EXPECT_THROW(build("+t", strict), resolve::DiagnosticError);
  EXPECT_FALSE(fs::exists(fs::join(dir.path(), "ran.txt")));
}

TEST_F(SideTest, AFailingLocallyRunIsLocated) {
  earthfile("VERSION 0.8\nt:\n  LOCALLY\n  RUN echo bad-news; exit 5\n");
  try {
    build("+t");
    FAIL();
  } catch (const resolve::DiagnosticError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Earthfile:4:3"), std::string::npos) << m;
    EXPECT_NE(m.find("status 5"), std::string::npos) << m;
    EXPECT_NE(m.find("bad-news"), std::string::npos) << m;
  }
}

} // namespace
} // namespace earth::build
