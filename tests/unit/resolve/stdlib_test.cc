// The embedded stdlib: every package parses and declares FUNCTIONs only, and
// the import paths (earth's and Earthly's) find the right package.
#include <gtest/gtest.h>

#include "earth/resolve/stdlib.h"
#include "earth/syntax/parser.h"

namespace earth::resolve {
namespace {

const StdlibPackage* find(std::string_view text) {
  auto ref = parse_earthfile_ref(text);
  EXPECT_TRUE(ref.ok()) << text;
  return ref.ok() ? stdlib_package_for(*ref) : nullptr;
}

TEST(Stdlib, EveryPackageParsesAndHasOnlyFunctions) {
  auto packages = stdlib_packages();
  ASSERT_GE(packages.size(), 6u);
  for (const auto& p : packages) {
    syntax::SourceFile source("stdlib/" + std::string(p.name) + "/Earthfile",
                              std::string(p.earthfile));
    auto r = syntax::parse(source);
    ASSERT_TRUE(r.ok()) << p.name << ": " << r.diagnostics.front().message;
    EXPECT_TRUE(r.earthfile.version) << p.name;
    EXPECT_TRUE(r.earthfile.targets.empty()) << p.name;
    EXPECT_FALSE(r.earthfile.functions.empty()) << p.name;
  }
}

TEST(Stdlib, ImportPaths) {
  ASSERT_NE(find("stdlib/apt"), nullptr);
  EXPECT_EQ(find("stdlib/apt")->name, "apt");
  EXPECT_EQ(find("stdlib/apt:v1")->name, "apt"); // a tag is ignored
  EXPECT_EQ(find("github.com/earthly/lib/utils/ssh:3.0.3")->name, "ssh");
  EXPECT_EQ(find("github.com/earthly/lib/rust")->name, "cargo");
  EXPECT_EQ(find("github.com/EarthBuild/lib/apt")->name, "apt");
  EXPECT_EQ(find("stdlib/nope"), nullptr);
  EXPECT_EQ(find("github.com/earthly/lib/utils/git"), nullptr); // no earth version
  EXPECT_EQ(find("github.com/acme/stdlib/apt"), nullptr);
  EXPECT_EQ(find("./stdlib/apt"), nullptr); // a local directory stays one
  auto ref = parse_earthfile_ref("stdlib/nope");
  EXPECT_TRUE(is_stdlib_path(*ref));
}

} // namespace
} // namespace earth::resolve
