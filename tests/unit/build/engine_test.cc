// The engine against the fake runtime: what runs, what is reused, what is
// output (RUN scripts: the fake's language, fake_build.h).
#include "earth/build/build.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/resolve/resolve.h"
#include "fake_build.h"

namespace earth::build {
namespace {

class EngineTest : public FakeBuild {};

const char* kTwoStage = R"(VERSION 0.8
FROM scratch
WORKDIR /src

lib:
    COPY lib.txt ./
    RUN write lib.out built-lib
    SAVE ARTIFACT lib.out

app:
    COPY app.txt ./
    COPY +lib/lib.out ./
    RUN write app.out built-app
    SAVE ARTIFACT app.out AS LOCAL ./dist/app.out

other:
    COPY other.txt ./
    RUN write other.out built-other

all:
    BUILD +app
    BUILD +other
)";

TEST_F(EngineTest, ARerunWithNothingChangedRunsNoStep) {
  write("Earthfile", kTwoStage);
  write("lib.txt", "1");
  write("app.txt", "1");
  write("other.txt", "1");
  auto first = build("+all");
  EXPECT_EQ(runtime.runs().size(), 3u);
  EXPECT_EQ(first.steps_run, 3u + 3u /*COPYs*/ + 1u /*COPY artifact*/ + 2u /*SAVEs*/);
  EXPECT_EQ(read("dist/app.out"), "built-app");

  auto second = build("+all");
  EXPECT_EQ(runtime.runs().size(), 3u) << "a cached step must not start a sandbox";
  EXPECT_EQ(second.steps_run, 0u);
  EXPECT_EQ(second.steps_cached, first.steps_run);
  EXPECT_EQ(second.targets_cached, second.targets);
}

TEST_F(EngineTest, ChangingOneFileRerunsExactlyItsDependents) {
  write("Earthfile", kTwoStage);
  write("lib.txt", "1");
  write("app.txt", "1");
  write("other.txt", "1");
  build("+all");
  write("lib.txt", "2");
  build("+all");
  std::vector<std::string> expected = {"write lib.out built-lib", "write app.out built-app",
                                       "write other.out built-other", "write lib.out built-lib",
                                       "write app.out built-app"};
  auto got = scripts();
  std::sort(got.begin() + 3, got.end());
  std::sort(expected.begin() + 3, expected.end());
  EXPECT_EQ(std::vector(got.begin() + 3, got.end()),
            std::vector(expected.begin() + 3, expected.end()));
}

TEST_F(EngineTest, ContentNotMtimeDecides) {
  write("Earthfile", kTwoStage);
  write("lib.txt", "1");
  write("app.txt", "1");
  write("other.txt", "1");
  build("+app");
  write("lib.txt", "1"); // rewritten, same bytes: a new mtime only
  build("+app");
  EXPECT_EQ(runtime.runs().size(), 2u);
}

TEST_F(EngineTest, NoCacheRerunsEverything) {
  write("Earthfile", kTwoStage);
  write("lib.txt", "1");
  write("app.txt", "1");
  write("other.txt", "1");
  build("+app");
  BuildOptions o;
  o.no_cache = true;
  build("+app", o);
  EXPECT_EQ(runtime.runs().size(), 4u);
}

TEST_F(EngineTest, RunNoCacheRerunsThatStepAndTheRest) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  RUN write a 1\n  RUN --no-cache write b "
                     "2\n  RUN write c 3\n");
  build("+t");
  build("+t");
  EXPECT_EQ(scripts(), (std::vector<std::string>{"write a 1", "write b 2", "write c 3", "write b 2",
                                                 "write c 3"}));
}

TEST_F(EngineTest, RunSeesEnvArgsWorkdirAndUser) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  ARG NAME=x\n  ENV GREETING=hi\n"
                     "  WORKDIR /w\n  USER nobody\n  RUN true\n");
  build("+t", {}, {{"NAME", "cli"}});
  auto runs = runtime.runs();
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0];
  EXPECT_EQ(r.cwd, "/w");
  EXPECT_EQ(r.user, "nobody");
  EXPECT_NE(std::find(r.env.begin(), r.env.end(), "GREETING=hi"), r.env.end());
  EXPECT_NE(std::find(r.env.begin(), r.env.end(), "NAME=cli"), r.env.end());
}

TEST_F(EngineTest, AnArgValueIsPartOfTheKey) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  ARG V=1\n  RUN true\n");
  build("+t");
  build("+t", {}, {{"V", "2"}});
  build("+t", {}, {{"V", "1"}});
  EXPECT_EQ(runtime.runs().size(), 2u);
}

TEST_F(EngineTest, AFailingStepIsLocatedAndNothingIsOutput) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nok:\n  RUN write x 1\n  SAVE ARTIFACT x AS "
                     "LOCAL out/x\nbad:\n  RUN fail boom\nall:\n  BUILD +ok\n  BUILD +bad\n");
  try {
    build("+all");
    FAIL() << "the build should fail";
  } catch (const resolve::DiagnosticError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Earthfile:7:3"), std::string::npos) << m;
    EXPECT_NE(m.find("exited with status 3"), std::string::npos) << m;
    EXPECT_NE(m.find("| boom"), std::string::npos) << m;
    EXPECT_NE(m.find("+bad"), std::string::npos) << m;
  }
  EXPECT_EQ(read("out/x"), "<missing>");
}

TEST_F(EngineTest, OutputsOnlyThroughTheBuildChain) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nleaf:\n  RUN write x 1\n  SAVE ARTIFACT x AS "
                     "LOCAL leaf.out\nmid:\n  FROM +leaf\n  SAVE ARTIFACT x AS LOCAL mid.out\n"
                     "top:\n  BUILD +mid\n  COPY +leaf/x .\n");
  build("+top");
  EXPECT_EQ(read("mid.out"), "1");
  EXPECT_EQ(read("leaf.out"), "<missing>") << "FROM and COPY do not carry outputs";
}

TEST_F(EngineTest, NoOutputWritesNothing) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  RUN write x 1\n  SAVE ARTIFACT x AS LOCAL "
                     "x.out\n");
  BuildOptions o;
  o.no_output = true;
  build("+t", o);
  EXPECT_EQ(read("x.out"), "<missing>");
}

TEST_F(EngineTest, ADirectoryArtifactReplacesTheHostDirectory) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  RUN write d/new 1\n  SAVE ARTIFACT d AS "
                     "LOCAL d\n");
  write("d/old", "stale");
  build("+t");
  EXPECT_EQ(read("d/new"), "1");
  EXPECT_EQ(read("d/old"), "<missing>");
}

TEST_F(EngineTest, UnsupportedCommandsFailWithALocationBeforeAnythingRuns) {
  write("Earthfile",
        "VERSION 0.8\nFROM scratch\nt:\n  RUN write a x\n  GIT CLONE https://x/y.git y\n");
  try {
    build("+t");
    FAIL();
  } catch (const resolve::DiagnosticError& e) {
    EXPECT_NE(std::string(e.what()).find("Earthfile:5:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("GIT CLONE is not supported yet"), std::string::npos);
  }
  EXPECT_EQ(runtime.run_count(), 0u);
}

// The control language runs in the build environment: `out TEXT` prints TEXT
// on stdout, `status N` exits N.
class LangTest : public EngineTest {
protected:
  LangTest() {
    runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
      std::string script = spec.argv.size() == 3 ? spec.argv[2] : join(spec.argv, " ");
      auto words = split(script, ' ');
      if (words[0] == "out" && spec.on_stdout_bytes) spec.on_stdout_bytes(script.substr(4) + "\n");
      if (words[0] == "status") return exec::RunResult{.exit_status = std::stoi(words[1])};
      return exec::RunResult{.exit_status = 0};
    });
  }
  // The value of `name` in the env of the run whose script is `script`.
  std::string env_of(const std::string& script, const std::string& name) const {
    for (const auto& r : runtime.runs())
      if (r.argv.back() == script)
        for (const auto& e : r.env)
          if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
    return "<unset>";
  }
};

TEST_F(LangTest, IfRunsTheBranchWhoseConditionSucceedsAndCachesTheCondition) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  IF status 1\n    RUN then\n"
                     "  ELSE IF status 0\n    RUN else-if\n  ELSE\n    RUN else\n  END\n");
  build("+t");
  EXPECT_EQ(scripts(), (std::vector<std::string>{"status 1", "status 0", "else-if"}));
  build("+t");
  EXPECT_EQ(runtime.run_count(), 3u); // conditions and steps reused
}

TEST_F(LangTest, ShellOutValuesAreWhatLaterStepsSee) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  ARG V=$(out one)\n"
                     "  LET W = \"$V-$(out two)\"\n  RUN use\n");
  build("+t");
  EXPECT_EQ(env_of("use", "V"), "one");
  EXPECT_EQ(env_of("use", "W"), "one-two");
  size_t runs = runtime.run_count();
  build("+t");
  EXPECT_EQ(runtime.run_count(), runs); // shell-outs are cached like RUNs
}

TEST_F(LangTest, ForRunsItsBodyPerItemWithItsOwnKeys) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  FOR x IN a $(out b c)\n    RUN use\n"
                     "  END\n");
  build("+t");
  std::vector<std::string> xs;
  for (const auto& r : runtime.runs())
    if (r.argv.back() == "use")
      for (const auto& e : r.env)
        if (e.starts_with("x=")) xs.push_back(e.substr(2));
  EXPECT_EQ(xs, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(LangTest, FunctionsHaveTheirOwnScope) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  ARG X=caller\n  DO +F --A=$X\n"
                     "F:\n  FUNCTION\n  ARG A\n  ARG X=fn\n  RUN use\n");
  build("+t");
  EXPECT_EQ(env_of("use", "A"), "caller");
  EXPECT_EQ(env_of("use", "X"), "fn");
}

TEST_F(EngineTest, PrivilegedNeedsTheFlag) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  RUN --privileged true\n");
  EXPECT_THROW(
      {
        try {
          build("+t");
        } catch (const resolve::DiagnosticError& e) {
          EXPECT_NE(std::string(e.what()).find("-P"), std::string::npos);
          throw;
        }
      },
      resolve::DiagnosticError);
}

TEST_F(EngineTest, CopyOutsideTheContextIsRefused) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  COPY ../x .\n");
  EXPECT_THROW(build("+t"), resolve::DiagnosticError);
}

TEST_F(EngineTest, IgnoredFilesNeitherCopiedNorKeyed) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  COPY src /src\n  RUN true\n");
  write(".earthlyignore", "src/*.log\n");
  write("src/a.c", "1");
  write("src/debug.log", "1");
  build("+t");
  write("src/debug.log", "2");
  build("+t");
  EXPECT_EQ(runtime.runs().size(), 1u) << "an ignored file must not change the key";
  write("src/a.c", "2");
  build("+t");
  EXPECT_EQ(runtime.runs().size(), 2u);
}

const char* kSiblings = R"(VERSION 0.8
FROM scratch
a:
    RUN write a 1
b:
    RUN write b 1
c:
    FROM +a
    RUN write c 1
all:
    BUILD +b
    BUILD +c
)";

TEST_F(EngineTest, IndependentTargetsRunInParallel) {
  write("Earthfile", kSiblings);
  runtime.hold_runs(true);
  BuildOptions o;
  o.jobs = 2;
  std::thread t([&] { build("+all", o); });
  bool both = runtime.wait_for_held(2);
  runtime.hold_runs(false);
  t.join();
  EXPECT_TRUE(both) << "+a and +b should run at once with -j2";
  EXPECT_EQ(runtime.run_count(), 3u);
}

TEST_F(EngineTest, OneJobRunsOneStepAtATime) {
  write("Earthfile", kSiblings);
  runtime.hold_runs(true);
  BuildOptions o;
  o.jobs = 1;
  std::thread t([&] { build("+all", o); });
  ASSERT_TRUE(runtime.wait_for_held(1));
  bool two = runtime.wait_for_held(2, std::chrono::milliseconds(300));
  runtime.hold_runs(false);
  t.join();
  EXPECT_FALSE(two);
}

TEST_F(EngineTest, ADependentWaitsForItsInput) {
  write("Earthfile", kSiblings);
  runtime.hold_runs(true);
  BuildOptions o;
  o.jobs = 4;
  std::thread t([&] { build("+all", o); });
  ASSERT_TRUE(runtime.wait_for_held(2));
  EXPECT_FALSE(runtime.wait_for_held(3, std::chrono::milliseconds(300)))
      << "+c must wait for +a's result";
  runtime.hold_runs(false);
  t.join();
  auto got = scripts();
  EXPECT_EQ(got.back(), "write c 1");
}

TEST_F(EngineTest, PrivilegedWithTheFlagRunsPrivilegedAndIsKeyedApart) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  ARG P=false\n  RUN --privileged=$P true\n");
  BuildOptions o;
  o.allow_privileged = true;
  build("+t", o, {{"P", "true"}});
  build("+t", o, {{"P", "false"}});
  auto runs = runtime.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_TRUE(runs[0].privileged);
  EXPECT_FALSE(runs[1].privileged);
}

TEST_F(EngineTest, MountsReachTheSandboxButNotTheKeyOfOtherSteps) {
  write("Earthfile",
        "VERSION 0.8\nFROM scratch\nt:\n  CACHE /c\n"
        "  RUN --mount=type=tmpfs,target=/scratch --mount type=cache,target=/m true\n");
  build("+t");
  auto runs = runtime.runs();
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_EQ(runs[0].tmpfs.size(), 1u);
  EXPECT_EQ(runs[0].tmpfs[0].target, "/scratch");
  std::vector<std::string> targets;
  for (const auto& m : runs[0].mounts) targets.push_back(m.target);
  std::sort(targets.begin(), targets.end());
  EXPECT_EQ(targets, (std::vector<std::string>{"/c", "/m"}));
  build("+t");
  EXPECT_EQ(runtime.run_count(), 1u);
}

TEST_F(EngineTest, BadMountModeIsALocatedError) {
  write("Earthfile",
        "VERSION 0.8\nFROM scratch\nt:\n  RUN --mount=type=cache,target=/m,mode=abc true\n");
  EXPECT_THROW(build("+t"), resolve::DiagnosticError);
}

TEST_F(EngineTest, CopyFollowsASymlinkSourceUnlessAsked) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  COPY link.txt /a/\n"
                     "  COPY --symlink-no-follow link.txt /b/\n"
                     "  SAVE ARTIFACT /a/link.txt AS LOCAL out/a.txt\n"
                     "  SAVE ARTIFACT --symlink-no-follow /b/link.txt AS LOCAL out/b.txt\n");
  write("real.txt", "content");
  ASSERT_EQ(::symlink("real.txt", fs::join(dir.path(), "link.txt").c_str()), 0);
  build("+t");
  EXPECT_EQ(read("out/a.txt"), "content");
  struct stat st {};
  ASSERT_EQ(::lstat(fs::join(dir.path(), "out/b.txt").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "--symlink-no-follow copies the link itself";
}

TEST_F(EngineTest, ASymlinkOutOfTheContextIsNotFollowedOutOfIt) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  COPY link /x\n");
  ASSERT_EQ(::symlink("/etc/passwd", fs::join(dir.path(), "link").c_str()), 0);
  EXPECT_THROW(build("+t"), resolve::DiagnosticError) << "/etc/passwd is outside the context";
}

TEST_F(EngineTest, CachePersistPutsTheCacheIntoTheImage) {
  // The fake RUN writes into the cache dir mounted at /c.
  runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
    for (const auto& m : spec.mounts)
      if (m.target == "/c") (void)fs::write_file_atomic(fs::join(m.source, "dep.txt"), "cached");
    return exec::RunResult{.exit_status = 0};
  });
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  CACHE --persist /c\n  RUN fill\n"
                     "user:\n  FROM +t\n  SAVE ARTIFACT /c/dep.txt AS LOCAL out/dep.txt\n"
                     "plain:\n  CACHE /c\n  RUN fill\nplainuser:\n  FROM +plain\n"
                     "  SAVE ARTIFACT --if-exists /c/dep.txt AS LOCAL out/plain.txt\n");
  build("+user");
  EXPECT_EQ(read("out/dep.txt"), "cached") << "--persist keeps the cache in the target's image";
  build("+plainuser");
  EXPECT_EQ(read("out/plain.txt"), "<missing>") << "without --persist the cache is not kept";
}

TEST_F(EngineTest, AnUnchangedOutputIsNotRewritten) {
  write("Earthfile", "VERSION 0.8\nFROM scratch\nt:\n  RUN write x 1\n  SAVE ARTIFACT x AS LOCAL "
                     "out/x\n");
  auto inode = [&] {
    struct stat st {};
    ::lstat(fs::join(dir.path(), "out/x").c_str(), &st);
    return st.st_ino;
  };
  build("+t");
  auto first = inode();
  build("+t");
  EXPECT_EQ(inode(), first) << "a no-op build must not replace the output";
  write("out/x", "edited by hand");
  build("+t");
  EXPECT_EQ(read("out/x"), "1") << "an output changed on disk is written again";
}

} // namespace
} // namespace earth::build
