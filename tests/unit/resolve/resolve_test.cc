#include "earth/resolve/resolve.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include <set>

#include "earth/base/disk.h"
#include "earth/base/fs.h"

namespace earth::resolve {
namespace {

class ResolveTest : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-resolve-test"};
  int parses = 0;

  void write(const std::string& rel, const std::string& text) {
    std::string path = fs::join(dir.path(), rel);
    ASSERT_TRUE(fs::make_dirs(fs::dirname(path)).ok());
    ASSERT_TRUE(fs::write_file_atomic(path, text).ok());
  }
  Options options(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    Options o;
    o.project_dir = dir.path();
    o.overrides = std::move(overrides);
    o.native_platform = "linux/amd64";
    o.git = [](const std::string&) { return GitInfo{}; };
    o.parse = [this](const syntax::SourceFile& f) {
      ++parses;
      return syntax::parse(f);
    };
    return o;
  }
  const Node& node(const Graph& g, const std::string& canonical) {
    for (const auto& n : g.nodes)
      if (n.canonical == canonical) return n;
    ADD_FAILURE() << "no node " << canonical;
    static Node none;
    return none;
  }
  size_t count(const Graph& g, const std::string& canonical) {
    size_t c = 0;
    for (const auto& n : g.nodes) c += n.canonical == canonical;
    return c;
  }
  std::string arg(const Node& n, const std::string& name) {
    for (const auto& b : n.args)
      if (b.name == name) return b.value.text;
    return "<unset>";
  }
};

// The same, on a VirtualDisk: these tests touch no file.
class InMemoryResolveTest : public ResolveTest {
protected:
  VirtualDisk disk;

  void write(const std::string& rel, const std::string& text) {
    disk.add_file(fs::join("/project", rel), text);
  }
  Options options(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    Options o = ResolveTest::options(std::move(overrides));
    o.project_dir = "/project";
    o.disk = &disk;
    return o;
  }
};

TEST_F(InMemoryResolveTest, DedupAndParseOnce) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./lib+a\n  BUILD ./lib+b\n  BUILD ./lib+a\n");
  write("lib/Earthfile", "VERSION 0.8\na:\n  FROM alpine\nb:\n  FROM +a\n  COPY ../lib+a/x .\n");
  Graph g = resolve("+all", options());
  EXPECT_EQ(count(g, "./lib+a"), 1u);
  EXPECT_EQ(parses, 2);
  EXPECT_EQ(disk.reads(), 2);
  EXPECT_EQ(g.build_order().back(), g.root);
}

TEST_F(InMemoryResolveTest, MissingDirectoryAndEarthfile) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./nope+t\n  BUILD ./empty+t\n");
  disk.add_dir("/project/empty");
  try {
    resolve("+all", options());
    FAIL() << "resolved a missing directory";
  } catch (const DiagnosticError& e) {
    EXPECT_EQ(e.diagnostic().message, "no such directory ./nope (for ./nope+t)");
  }
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./empty+t\n");
  try {
    resolve("+all", options());
    FAIL() << "resolved a directory without an Earthfile";
  } catch (const DiagnosticError& e) {
    EXPECT_EQ(e.diagnostic().message, "no Earthfile in ./empty (for ./empty+t; tried "
                                      "./empty/Earthfile and ./empty/build.earth)");
  }
}

TEST_F(InMemoryResolveTest, OutputsAreTypedData) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  ARG V=1\n"
                     "  SAVE ARTIFACT --keep-ts /x AS LOCAL out/$V\n  SAVE ARTIFACT /y\n"
                     "  SAVE IMAGE --push --cache-from c:1 app:$V app:latest\n");
  Graph g = resolve("+t", options());
  const Node& n = node(g, "+t");
  ASSERT_EQ(n.local_outputs.size(), 2u);
  const LocalOutput& a = n.local_outputs[0];
  EXPECT_EQ(a.kind, LocalOutput::Kind::artifact);
  EXPECT_EQ(a.source, "/x");
  EXPECT_EQ(a.local_dest, "out/1");
  EXPECT_EQ(a.span.begin.line, 5u);
  const LocalOutput& i = n.local_outputs[1];
  EXPECT_EQ(i.kind, LocalOutput::Kind::image);
  EXPECT_EQ(i.images, (std::vector<std::string>{"app:1", "app:latest"}));
  EXPECT_TRUE(i.push);
  EXPECT_EQ(i.file, 0u);
}

TEST_F(InMemoryResolveTest, WildcardBuildsListTheVirtualDisk) {
  write("Earthfile", "VERSION --wildcard-builds 0.8\nall:\n  BUILD ./svc/*+t\n");
  write("svc/b/Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n");
  write("svc/a/Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n");
  write("svc/none/README", "");
  Graph g = resolve("+all", options());
  const Node& all = node(g, "+all");
  ASSERT_EQ(all.out.size(), 2u);
  EXPECT_EQ(g.edges[all.out[0]].ref, "./svc/a+t");
  EXPECT_EQ(g.edges[all.out[1]].ref, "./svc/b+t");
}

TEST_F(InMemoryResolveTest, MatrixAndOverrides) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD +t --X=1 --X=2 --Y=a\nt:\n  ARG X\n  ARG Y=b\n"
                     "  ARG Z=$X-$Y\n  FROM alpine\n");
  Graph g = resolve("+all", options());
  EXPECT_EQ(count(g, "+t"), 2u);
  for (const auto& n : g.nodes)
    if (n.canonical == "+t") {
      EXPECT_EQ(arg(n, "Z"), arg(n, "X") + "-a");
    }
}

// A partial build resolves instances alone (resolve_instances): each comes
// out as the whole resolve made it (the same instance key), reading only
// the Earthfiles it needs, and marks no outputs.
TEST_F(InMemoryResolveTest, AnInstanceResolvedAloneIsTheSame) {
  write("Earthfile", "VERSION 0.8\nARG --global G=g\nall:\n  BUILD +t --X=1 --X=2 --Y=a\n"
                     "  BUILD ./lib+u --N=7\n  BUILD +v\nt:\n  ARG X\n  ARG Y=b\n"
                     "  FROM ./lib+img --B=$X\nv:\n  ARG X=d\n  FROM alpine\n");
  write("lib/Earthfile", "VERSION 0.8\nimg:\n  ARG B=0\n  FROM alpine\nu:\n  ARG N\n"
                         "  FROM +img --B=$N\n  COPY +img/x .\n");
  Graph whole = resolve("+all", options({{"X", "cli"}}));
  size_t checked = 0;
  for (const auto& n : whole.nodes) {
    if (n.kind != Node::Kind::target) continue;
    int reads = disk.reads();
    Graph alone = resolve_instances({{n.canonical, n.given, n.platform}}, options({{"X", "cli"}}));
    ASSERT_EQ(alone.roots.size(), 1u);
    const Node& again = alone.nodes[alone.roots[0]];
    EXPECT_EQ(Graph::key_of(again), Graph::key_of(n)) << n.canonical;
    EXPECT_EQ(again.steps.size(), n.steps.size()) << n.canonical;
    for (const auto& m : alone.nodes) EXPECT_FALSE(m.output) << m.canonical;
    if (n.canonical == "./lib+u") EXPECT_EQ(disk.reads() - reads, 1); // lib/Earthfile alone
    ++checked;
  }
  EXPECT_EQ(checked, 9u); // +all, +t twice, +v, ./lib+u, ./lib+img (B=1, 2, 7 and 0)
}

TEST_F(InMemoryResolveTest, ImplicitPassingOnlyWithinOneFile) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD +t\n  BUILD ./lib+t\nt:\n  ARG X=d\n");
  write("lib/Earthfile", "VERSION 0.8\nt:\n  ARG X=d\n");
  Graph g = resolve("+all", options({{"X", "cli"}}));
  EXPECT_EQ(arg(node(g, "+t"), "X"), "cli");
  EXPECT_EQ(arg(node(g, "./lib+t"), "X"), "d");
}

TEST_F(InMemoryResolveTest, OutputFollowsBuildChainOnly) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD +a\n  FROM +b\na:\n  FROM +c\n  BUILD +d\n"
                     "b:\n  FROM alpine\nc:\n  FROM alpine\nd:\n  FROM alpine\n");
  Graph g = resolve("+all", options());
  EXPECT_TRUE(node(g, "+all").output);
  EXPECT_TRUE(node(g, "+a").output);
  EXPECT_TRUE(node(g, "+d").output);
  EXPECT_FALSE(node(g, "+b").output);
  EXPECT_FALSE(node(g, "+c").output);
}

TEST_F(InMemoryResolveTest, CycleNamesThePath) {
  write("Earthfile", "VERSION 0.8\na:\n  BUILD ./lib+b\n");
  write("lib/Earthfile", "VERSION 0.8\nb:\n  FROM alpine\n  BUILD ../+a\n");
  try {
    resolve("+a", options());
    FAIL() << "no cycle error";
  } catch (const DiagnosticError& e) {
    EXPECT_NE(e.diagnostic().message.find("+a → ./lib+b (./Earthfile:3) → +a (./lib/Earthfile:4)"),
              std::string::npos)
        << e.diagnostic().message;
  }
}

TEST_F(ResolveTest, StepsCarryTheirScope) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  ARG X=1\n  LET Y = $X-2\n  RUN echo\n");
  Graph g = resolve("+t", options());
  const Node& n = node(g, "+t");
  ASSERT_EQ(n.steps.size(), 4u);
  const auto& scope = n.scopes[n.steps[3].scope];
  EXPECT_EQ(n.steps[0].scope, 0u); // FROM and ARG see nothing yet
  EXPECT_EQ(n.steps[1].scope, 0u);
  EXPECT_EQ(n.scopes[n.steps[2].scope].size(), 1u); // LET sees X
  ASSERT_EQ(scope.size(), 2u);
  EXPECT_EQ(scope[1].name, "Y");
  EXPECT_EQ(scope[1].value.text, "1-2");
  EXPECT_EQ(scope[1].kind, VarKind::let);
}

TEST_F(ResolveTest, ForIterationsAndFunctionsGetTheirOwnScopes) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  FOR x IN a b\n    RUN echo\n  END\n"
                     "  DO +F --Y=1\n  RUN last\nF:\n  FUNCTION\n  RUN inner\n");
  Graph g = resolve("+t", options());
  const Node& n = node(g, "+t");
  // FROM, RUN (x=a), RUN (x=b), DO, FUNCTION, RUN inner, RUN last
  ASSERT_EQ(n.steps.size(), 7u);
  auto value_of = [&](const Step& s, const std::string& name) {
    for (const auto& b : n.scopes[s.scope])
      if (b.name == name) return b.value.text;
    return std::string("<unset>");
  };
  EXPECT_EQ(value_of(n.steps[1], "x"), "a");
  EXPECT_EQ(value_of(n.steps[2], "x"), "b");
  EXPECT_EQ(value_of(n.steps[3], "x"), "<unset>");
  EXPECT_EQ(value_of(n.steps[5], "Y"), "<unset>"); // not declared in F
  EXPECT_EQ(n.steps[5].depth, 1u);
  EXPECT_EQ(n.scopes[n.steps[6].scope].size(), n.scopes[n.steps[3].scope].size());
}

TEST_F(ResolveTest, DynamicValuesStayUnexpanded) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  ARG V=$(date +%s)\n  BUILD +u --W=$V\n"
                     "u:\n  ARG W\n");
  Graph g = resolve("+t", options());
  const Node& t = node(g, "+t");
  ASSERT_EQ(t.args.size(), 1u);
  EXPECT_TRUE(t.args[0].value.dynamic);
  EXPECT_EQ(t.args[0].value.text, "$(date +%s)");
  // A build arg from a shell-out makes the reference known only at build
  // time: a dynamic edge, not an instance (the engine resolves it).
  ASSERT_EQ(g.nodes.size(), 1u);
  ASSERT_EQ(g.edges.size(), 1u);
  EXPECT_TRUE(g.edges[0].dynamic);
  EXPECT_EQ(g.edges[0].to, kNone);
  EXPECT_EQ(g.edges[0].ref, "+u --W=$V");
}

TEST_F(ResolveTest, OnlyBuildsInsideWaitAreWaited) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  WAIT\n    BUILD +u\n    COPY +v/f .\n"
                     "  END\n  BUILD +w\nu:\n  FROM alpine\nv:\n  FROM alpine\nw:\n"
                     "  FROM alpine\n");
  Graph g = resolve("+t", options());
  const Node& t = node(g, "+t");
  std::vector<std::pair<std::string, bool>> seen;
  for (EdgeId e : t.out) seen.emplace_back(g.nodes[g.edges[e].to].canonical, g.edges[e].waited);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{
                      {"+u", true}, {"+v", false}, {"+w", false}}));
}

TEST_F(ResolveTest, RemotePlaceholdersOnlyWhenAllowed) {
  write("Earthfile", "VERSION 0.8\nt:\n  BUILD github.com/o/r:v1+x\n");
  Options o = options();
  EXPECT_THROW(resolve("+t", o), DiagnosticError);
  o.allow_remote = true;
  Graph g = resolve("+t", o);
  EXPECT_EQ(node(g, "github.com/o/r:v1+x").file, kNone);
}

TEST_F(ResolveTest, EdgesAreRecordedOnTheirSteps) {
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  DO +F\nF:\n  FUNCTION\n  BUILD +u\nu:\n"
                     "  FROM alpine\n");
  Graph g = resolve("+t", options());
  const Node& t = node(g, "+t");
  ASSERT_EQ(t.steps.size(), 4u); // FROM, DO, FUNCTION, BUILD
  EXPECT_EQ(t.steps[3].depth, 1u);
  ASSERT_EQ(t.steps[3].edges.size(), 1u);
  EXPECT_EQ(g.edges[t.steps[3].edges[0]].kind, EdgeKind::build);
  ASSERT_EQ(t.steps[1].edges.size(), 1u);
  EXPECT_EQ(g.edges[t.steps[1].edges[0]].kind, EdgeKind::do_function);
}

TEST_F(ResolveTest, DeclaredArgs) {
  write("Earthfile", "VERSION 0.8\nt:\n  ARG --required A\n  ARG B=x y\n  ARG C\n");
  auto f = syntax::parse_file_or_throw(fs::join(dir.path(), "Earthfile"));
  auto args = declared_args(f.targets[0].recipe);
  ASSERT_EQ(args.size(), 3u);
  EXPECT_TRUE(args[0].required);
  EXPECT_EQ(args[1].default_text, "x y");
  EXPECT_FALSE(args[2].has_default);
}

// Arg values that hold the old key's delimiters ('\n', '=') must not make
// two different instances one node.
TEST_F(ResolveTest, InstancesWithDelimitersInValuesStayApart) {
  write("Earthfile", "VERSION 0.8\n"
                     "all:\n  ARG P\n  ARG R\n"
                     "  BUILD +t --A=$P --B=z\n  BUILD +t --A=x --B=$R\n"
                     "t:\n  ARG A\n  ARG B\n  FROM alpine\n");
  Graph g = resolve("+all", options({{"P", "x\nB=y"}, {"R", "y\nB=z"}}));
  ASSERT_EQ(count(g, "+t"), 2u);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& n : g.nodes)
    if (n.canonical == "+t") seen.emplace_back(arg(n, "A"), arg(n, "B"));
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen[0], std::make_pair(std::string("x"), std::string("y\nB=z")));
  EXPECT_EQ(seen[1], std::make_pair(std::string("x\nB=y"), std::string("z")));
  // Shown apart too, each on one line.
  std::set<std::string> shown;
  for (const auto& n : g.nodes)
    if (n.canonical == "+t") shown.insert(instance_text(n));
  EXPECT_EQ(shown, (std::set<std::string>{R"( --A="x\nB=y" --B=z)", R"( --A=x --B="y\nB=z")"}));
}

// A value that reads like more args is quoted, so that the instance it
// names is not shown as another one (events and step logs go by the name).
TEST_F(ResolveTest, InstancesWhoseValuesReadAsArgsAreShownApart) {
  write("Earthfile", "VERSION 0.8\n"
                     "all:\n  ARG P\n"
                     "  BUILD +t --A=$P\n  BUILD +t --A=1 --B=2\n"
                     "t:\n  ARG A\n  ARG B\n  FROM alpine\n");
  Graph g = resolve("+all", options({{"P", "1 --B=2"}}));
  std::set<std::string> shown;
  for (const auto& n : g.nodes)
    if (n.canonical == "+t") shown.insert(instance_text(n));
  EXPECT_EQ(shown, (std::set<std::string>{R"( --A="1 --B=2" --B="")", " --A=1 --B=2"}));
}

TEST_F(ResolveTest, UnparsableDependencyReportsEveryError) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./lib+a\n");
  write("lib/Earthfile", "VERSION 0.8\na:\n  BOGUS 1\n  END\n");
  try {
    resolve("+all", options());
    FAIL() << "resolved a broken Earthfile";
  } catch (const DiagnosticError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    std::string what = e.what();
    // Each error with its code frame, not folded into a note.
    EXPECT_NE(what.find("./lib/Earthfile:3:3: error: unknown command 'BOGUS'\n 3 |   BOGUS 1\n"),
              std::string::npos)
        << what;
    EXPECT_NE(
        what.find("./lib/Earthfile:4:3: error: END without IF/FOR/WAIT/TRY/WITH\n 4 |   END\n"),
        std::string::npos)
        << what;
    EXPECT_EQ(what.find("note:"), std::string::npos) << what;
  }
}

TEST_F(ResolveTest, DeepExpansionIsALocatedError) {
  std::string word = "x";
  for (int i = 0; i < 20000; ++i) word = "${A:-" + word + "}";
  write("Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n  ARG B=" + word + "\n");
  try {
    resolve("+t", options());
    FAIL() << "expanded 20,000 nested ${…}";
  } catch (const DiagnosticError& e) {
    EXPECT_EQ(e.diagnostic().path, "./Earthfile");
    EXPECT_EQ(e.diagnostic().span.begin.line, 4u);
    EXPECT_NE(e.diagnostic().message.find("nested more than 256 deep"), std::string::npos);
  }
}

// The loader reads only regular files: a FIFO would block forever.
TEST_F(ResolveTest, FifoEarthfileIsRefusedAtTheReference) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./pipe+t\n");
  ASSERT_TRUE(fs::make_dirs(fs::join(dir.path(), "pipe")).ok());
  ASSERT_EQ(::mkfifo(fs::join(dir.path(), "pipe/Earthfile").c_str(), 0644), 0);
  try {
    resolve("+all", options());
    FAIL() << "resolved a FIFO";
  } catch (const DiagnosticError& e) {
    EXPECT_EQ(e.diagnostic().message,
              "./pipe/Earthfile: is a FIFO; an Earthfile must be a regular file (for ./pipe+t)");
    EXPECT_EQ(e.diagnostic().span.begin.line, 3u);
  }
}

// A directory that exists but cannot be searched is not "no such directory"
// nor "no Earthfile". Root ignores modes: the child drops to nobody.
TEST_F(ResolveTest, UnsearchableDirectorySaysPermissionDenied) {
  write("Earthfile", "VERSION 0.8\nall:\n  BUILD ./locked/sub+t\n");
  write("locked/sub/Earthfile", "VERSION 0.8\nt:\n  FROM alpine\n");
  std::string locked = fs::join(dir.path(), "locked");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    try {
      resolve("+all", options());
    } catch (const DiagnosticError& e) {
      ::_exit(e.diagnostic().message == "./locked/sub: Permission denied (for ./locked/sub+t)" &&
                      e.diagnostic().span.begin.line == 3
                  ? 0
                  : 1);
    }
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::chmod(locked.c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
} // namespace earth::resolve
