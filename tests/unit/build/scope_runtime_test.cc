// RuntimeScope: the variables of a running recipe, looked up with the
// resolver's one precedence rule, the image's ENV included.
#include "../../../src/build/scope_runtime.h"

#include <gtest/gtest.h>

#include "../../../src/build/secrets.h"

namespace earth::build {
namespace {

using resolve::Binding;
using resolve::Value;
using resolve::VarKind;

std::string text(const resolve::Value* v) {
  return v ? v->text : "<unset>";
}

TEST(RuntimeScopeTest, PrecedenceIsLetThenArgThenEnvThenGlobal) {
  RuntimeScope s;
  s.push(0, {});
  std::vector<std::string> env{"X=env", "G=env"};
  s.bind({"G", {"global"}, VarKind::global});
  EXPECT_EQ(text(s.lookup("G", env)), "env"); // an ENV beats a global ARG
  s.bind({"X", {"arg"}, VarKind::arg});
  EXPECT_EQ(text(s.lookup("X", env)), "arg");
  s.bind({"X", {"let"}, VarKind::let});
  EXPECT_EQ(text(s.lookup("X", env)), "let");
  EXPECT_EQ(text(s.lookup("NONE", env)), "<unset>");
}

TEST(RuntimeScopeTest, FramesAreSeparateAndOverridesStayInTheirFrame) {
  RuntimeScope s;
  s.push(0, {{"A", Value{"given"}}});
  s.bind({"A", {"caller"}, VarKind::arg});
  s.push(1, {});
  EXPECT_EQ(text(s.lookup("A", {})), "<unset>");
  EXPECT_EQ(s.override_of("A"), nullptr);
  s.pop();
  EXPECT_EQ(text(s.lookup("A", {})), "caller");
  EXPECT_EQ(text(s.override_of("A")), "given");
}

TEST(RuntimeScopeTest, SetChangesTheLatestLetOnly) {
  RuntimeScope s;
  s.push(0, {});
  s.bind({"V", {"arg"}, VarKind::arg});
  EXPECT_FALSE(s.set_let("V", {"x"}));
  s.bind({"V", {"one"}, VarKind::let});
  EXPECT_TRUE(s.set_let("V", {"two"}));
  EXPECT_EQ(text(s.lookup("V", {})), "two");
}

TEST(RuntimeScopeTest, ExpandRunsShellOutsAndUnbindEndsAForVariable) {
  RuntimeScope s;
  s.push(0, {});
  s.bind({"x", {"item"}, VarKind::arg});
  auto v = s.expand("$x-$(cmd)-${E}", {"E=e"}, [](std::string_view c) {
    return Result<std::string>("<" + std::string(c) + ">\n");
  });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->text, "item-<cmd>-e");
  EXPECT_FALSE(v->dynamic);
  s.unbind("x");
  EXPECT_EQ(text(s.lookup("x", {})), "<unset>");
}

TEST(RuntimeScopeTest, VisibleIsWhatARunGetsBesidesTheImageEnv) {
  RuntimeScope s;
  s.push(0, {});
  s.bind({"G", {"global"}, VarKind::global});
  s.bind({"A", {"a"}, VarKind::arg});
  auto vis = s.visible({"G=env"});
  EXPECT_EQ(vis, (std::vector<std::pair<std::string, std::string>>{{"G", "env"}, {"A", "a"}}));
}

TEST(RuntimeScopeTest, APartOfADerivedValueIsDerivedToo) {
  Redactor redact;
  redact.add("prefix-derived-value");
  RuntimeScope s;
  s.derived_from(&redact);
  s.push(0, {});
  s.bind({"X", {"prefix-derived-value"}, VarKind::arg});
  s.bind({"P", {"plain"}, VarKind::arg});
  auto whole = s.expand("a-$X", {}, {});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(redact(whole->text), "a-***");
  auto part = s.expand("${X#prefix-}", {}, {});
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->text, "derived-value");
  EXPECT_EQ(redact("shown: derived-value"), "shown: ***");
  auto plain = s.expand("${P#pl}", {}, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(redact(plain->text), "ain") << "a value read from no derived one is not tracked";
}

} // namespace
} // namespace earth::build
