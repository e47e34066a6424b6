#include "earth/resolve/expand.h"

#include <map>

#include <gtest/gtest.h>

namespace earth::resolve {
namespace {

class ExpandTest : public ::testing::Test {
protected:
  std::map<std::string, Value, std::less<>> vars{{"A", {"alpha", false}},
                                                 {"EMPTY", {"", false}},
                                                 {"PATHV", {"a/b/c.tar.gz", false}},
                                                 {"DYN", {"$(date)", true}},
                                                 {"SP", {"x y", false}}};
  Lookup lookup = [this](std::string_view n) -> const Value* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : &it->second;
  };
  std::string ex(std::string_view w) {
    auto r = expand_word(w, lookup);
    EXPECT_TRUE(r.ok()) << w << ": " << (r.ok() ? "" : r.error());
    return r.ok() ? r->text : "ERROR";
  }
  bool dyn(std::string_view w) { return expand_word(w, lookup).value().dynamic; }
};

TEST_F(ExpandTest, Plain) {
  EXPECT_EQ(ex("hello"), "hello");
  EXPECT_EQ(ex("$A"), "alpha");
  EXPECT_EQ(ex("${A}"), "alpha");
  EXPECT_EQ(ex("x$A-y"), "xalpha-y");
  EXPECT_EQ(ex("$UNSET"), "");
  EXPECT_EQ(ex("${A}_1"), "alpha_1");
  EXPECT_EQ(ex("$A_1"), ""); // A_1 is the name
  EXPECT_EQ(ex("$"), "$");
  EXPECT_EQ(ex("a$"), "a$");
  EXPECT_EQ(ex("$1x"), "x");
}

TEST_F(ExpandTest, Defaults) {
  EXPECT_EQ(ex("${UNSET:-d}"), "d");
  EXPECT_EQ(ex("${EMPTY:-d}"), "d");
  EXPECT_EQ(ex("${A:-d}"), "alpha");
  EXPECT_EQ(ex("${UNSET:-$A}"), "alpha");
  EXPECT_EQ(ex("${UNSET:-${A}x}"), "alphax");
  EXPECT_EQ(ex("${A:+set}"), "set");
  EXPECT_EQ(ex("${EMPTY:+set}"), "");
  EXPECT_EQ(ex("${UNSET:+set}"), "");
  EXPECT_EQ(ex("${UNSET:-a b}"), "a b");
}

TEST_F(ExpandTest, Required) {
  EXPECT_FALSE(expand_word("${UNSET:?must be set}", lookup).ok());
  EXPECT_EQ(expand_word("${UNSET:?must be set}", lookup).error(), "UNSET: must be set");
  EXPECT_FALSE(expand_word("${EMPTY:?x}", lookup).ok());
  EXPECT_EQ(ex("${EMPTY?x}"), "");
  EXPECT_FALSE(expand_word("${UNSET?x}", lookup).ok());
}

TEST_F(ExpandTest, Patterns) {
  EXPECT_EQ(ex("${PATHV#*/}"), "b/c.tar.gz");
  EXPECT_EQ(ex("${PATHV##*/}"), "c.tar.gz");
  EXPECT_EQ(ex("${PATHV%.*}"), "a/b/c.tar");
  EXPECT_EQ(ex("${PATHV%%.*}"), "a/b/c");
  EXPECT_EQ(ex("${PATHV#nomatch}"), "a/b/c.tar.gz");
  EXPECT_EQ(ex("${UNSET#x}"), "");
}

TEST_F(ExpandTest, Quotes) {
  EXPECT_EQ(ex("'$A'"), "$A");
  EXPECT_EQ(ex("\"$A\""), "alpha");
  EXPECT_EQ(ex("\"a b\""), "a b");
  EXPECT_EQ(ex("\"who\"\"ami\""), "whoami");
  EXPECT_EQ(ex("'a'\"b\"c"), "abc");
  EXPECT_EQ(ex("\"it's\""), "it's");
  EXPECT_EQ(ex("\"\\\"q\\\"\""), "\"q\"");
  EXPECT_EQ(ex("\"\\$A\""), "$A");
  EXPECT_EQ(ex("\"\\n\""), "\\n"); // other escapes stay inside double quotes
  EXPECT_FALSE(expand_word("'open", lookup).ok());
  EXPECT_FALSE(expand_word("\"open", lookup).ok());
  EXPECT_FALSE(expand_word("${A", lookup).ok());
}

TEST_F(ExpandTest, Escapes) {
  EXPECT_EQ(ex("\\$A"), "$A");
  EXPECT_EQ(ex("a\\ b"), "a b");
  EXPECT_EQ(ex("x\\"), "x");
  EXPECT_EQ(ex("file-with-\\+.txt"), "file-with-\\+.txt"); // \+ survives for refs
  EXPECT_EQ(ex("\\\\"), "\\");
}

TEST_F(ExpandTest, ShellOut) {
  EXPECT_EQ(ex("$(date +%s)"), "$(date +%s)");
  EXPECT_TRUE(dyn("$(date +%s)"));
  EXPECT_TRUE(dyn("v-$(cat f)-$A"));
  EXPECT_EQ(ex("v-$(cat f)-$A"), "v-$(cat f)-alpha");
  EXPECT_EQ(ex("$(echo $(echo \")\"))"), "$(echo $(echo \")\"))");
  EXPECT_TRUE(dyn("$DYN"));
  EXPECT_EQ(ex("x${DYN}"), "x$(date)");
  EXPECT_FALSE(dyn("'$(date)'"));
  EXPECT_TRUE(dyn("${UNSET:-$(date)}"));
  EXPECT_FALSE(dyn("${A:-$(date)}") && false);
  EXPECT_FALSE(expand_word("$(open", lookup).ok());
  EXPECT_TRUE(has_shell_out("a$(b)"));
  EXPECT_TRUE(has_shell_out("\"$(b)\""));
  EXPECT_TRUE(has_shell_out("\"it's\"$(b)"));
  EXPECT_FALSE(has_shell_out("'$(b)'"));
  EXPECT_FALSE(has_shell_out("\\$(b)"));
  EXPECT_FALSE(has_shell_out("$b"));
}

TEST_F(ExpandTest, Modifiers) {
  EXPECT_FALSE(expand_word("${A:x}", lookup).ok());
  EXPECT_FALSE(expand_word("${}", lookup).ok());
}

// Nesting recurses; past the limit it fails instead of overflowing the stack.
TEST_F(ExpandTest, NestingDepthIsBounded) {
  auto nested = [](size_t n, bool quoted) {
    std::string w = "x";
    for (size_t i = 0; i < n; ++i) w = (quoted ? "\"${U:-" : "${U:-") + w + (quoted ? "}\"" : "}");
    return w;
  };
  EXPECT_EQ(expand_word(nested(kMaxExpansionDepth, false), lookup).value().text, "x");
  auto deep = expand_word(nested(kMaxExpansionDepth + 1, false), lookup);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error(), "${…} nested more than 256 deep (the one at character 1281 of the word)");
  EXPECT_FALSE(expand_word(nested(20000, false), lookup).ok());
  EXPECT_FALSE(expand_word(nested(20000, true), lookup).ok());
}

} // namespace
} // namespace earth::resolve
