// The parser's limits and the Earthfile reader's refusals (issues 7 and 11).
#include "earth/syntax/parser.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/syntax/ast_json.h"

namespace earth::syntax {
namespace {

// A target whose recipe is `depth` nested IFs around one RUN.
std::string nested_ifs(size_t depth) {
  std::string text = "VERSION 0.8\nt:\n    FROM busybox\n";
  for (size_t i = 0; i < depth; ++i) text += "    IF true\n";
  text += "    RUN echo hi\n";
  for (size_t i = 0; i < depth; ++i) text += "    END\n";
  return text + "u:\n    RUN echo u\n";
}

TEST(Parser, BlocksNestUpToTheLimit) {
  ParseResult r = parse(SourceFile("Earthfile", nested_ifs(kMaxBlockDepth)));
  ASSERT_TRUE(r.ok()) << r.diagnostics.front().message;
  // The JSON dump of the deepest allowed nesting stays cheap (it used to copy
  // every subtree once per level).
  EXPECT_TRUE(to_json(r.earthfile).contains("targets"));
}

TEST(Parser, DeeperBlocksAreALocatedError) {
  ParseResult r = parse(SourceFile("Earthfile", nested_ifs(kMaxBlockDepth + 1)));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const Diagnostic& d = r.diagnostics[0];
  // The IF that is one too deep: line 3 + 257.
  EXPECT_EQ(d.span.begin, (Position{3 + static_cast<uint32_t>(kMaxBlockDepth) + 1, 5}));
  EXPECT_NE(d.message.find("at most 256"), std::string::npos) << d.message;
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].span.begin, (Position{4, 5}));
  // Parsing goes on at the next target.
  EXPECT_NE(r.earthfile.find_target("u"), nullptr);
}

TEST(Parser, VeryDeepBlocksDoNotExhaustTheStack) {
  ParseResult r = parse(SourceFile("Earthfile", nested_ifs(100000)));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("nest too deeply"), std::string::npos);
}

TEST(Parser, NulByteIsRefusedWithItsLocation) {
  std::string text = "VERSION 0.8\nt:\n    RUN echo a";
  text += '\0';
  text += "b\n    RUN x";
  text += '\0';
  text += "\n";
  ParseResult r = parse(SourceFile("Earthfile", text));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].span.begin, (Position{3, 15}));
  EXPECT_EQ(r.diagnostics[0].message,
            "NUL byte in the Earthfile (an Earthfile is text; 2 NUL bytes in all)");
  EXPECT_EQ(render(r.diagnostics[0], nullptr),
            "Earthfile:3:15: error: NUL byte in the Earthfile (an Earthfile is text; 2 NUL "
            "bytes in all)\n");
}

class ReadTest : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-parser-test"};
  std::string path(const std::string& rel) { return fs::join(dir.path(), rel); }
};

TEST_F(ReadTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo(path("Earthfile").c_str(), 0644), 0);
  EXPECT_EQ(earthfile_in(dir.path()), path("Earthfile"));
  auto r = read_earthfile(path("Earthfile"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), path("Earthfile") + ": is a FIFO; an Earthfile must be a regular file");
  EXPECT_THROW(parse_file_or_throw(path("Earthfile")), Error);
}

TEST_F(ReadTest, DirectoryIsRefused) {
  ASSERT_TRUE(fs::make_dirs(path("Earthfile")).ok());
  auto r = read_earthfile(path("Earthfile"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("is a directory"), std::string::npos) << r.error();
}

TEST_F(ReadTest, RegularFileIsRead) {
  ASSERT_TRUE(fs::write_file_atomic(path("build.earth"), "VERSION 0.8\n").ok());
  EXPECT_EQ(earthfile_in(dir.path()), path("build.earth"));
  EXPECT_EQ(read_earthfile(path("build.earth")).value(), "VERSION 0.8\n");
  EXPECT_EQ(earthfile_in(path("missing")), "");
}

// A directory that cannot be searched is not "no Earthfile": the read says
// "Permission denied" and names the path. Root ignores modes, so as root the
// check runs in a child that has dropped to nobody.
TEST_F(ReadTest, UnsearchableDirectorySaysPermissionDenied) {
  ASSERT_TRUE(fs::make_dirs(path("locked")).ok());
  ASSERT_TRUE(fs::write_file_atomic(path("locked/Earthfile"), "VERSION 0.8\n").ok());
  ASSERT_EQ(::chmod(path("locked").c_str(), 0), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    std::string found = earthfile_in(path("locked"));
    if (found != path("locked/Earthfile")) ::_exit(1);
    auto r = read_earthfile(found);
    ::_exit(!r.ok() && r.error() == found + ": Permission denied" ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::chmod(path("locked").c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
} // namespace earth::syntax
