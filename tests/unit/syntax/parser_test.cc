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

class ReadTest : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-parser-test"};
  std::string path(const std::string& rel) { return fs::join(dir.path(), rel); }
};

} // namespace
} // namespace earth::syntax
