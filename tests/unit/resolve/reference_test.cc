#include "earth/resolve/reference.h"

#include <gtest/gtest.h>

namespace earth::resolve {
namespace {

using Kind = EarthfileRef::Kind;

Reference target(std::string_view s) {
  auto r = parse_target_ref(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? r.value() : Reference{};
}

Reference artifact(std::string_view s) {
  auto r = parse_artifact_ref(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? r.value() : Reference{};
}

TEST(Reference, LocalInternal) {
  auto r = target("+build");
  EXPECT_EQ(r.earthfile.kind, Kind::local_internal);
  EXPECT_EQ(r.name, "build");
  EXPECT_FALSE(r.is_function());
  EXPECT_EQ(r.to_string(), "+build");
}

TEST(Reference, LocalPaths) {
  EXPECT_EQ(target("./js+build").earthfile.path, "./js");
  EXPECT_EQ(target("js/../lib/+t").earthfile.kind, Kind::remote); // no leading '.': remote
  EXPECT_EQ(target("./js/../lib/+t").earthfile.path, "./lib");
  EXPECT_EQ(target("../lib+t").earthfile.path, "../lib");
  EXPECT_EQ(target("../../a/./b+t").earthfile.path, "../../a/b");
  EXPECT_EQ(target("/abs/dir/+t").earthfile.path, "/abs/dir");
  EXPECT_EQ(target("~/x+t").earthfile.path, "~/x");
  EXPECT_EQ(target("./+t").earthfile.path, "./");
  EXPECT_EQ(target("./js+build").earthfile.kind, Kind::local_path);
}

TEST(Reference, Remote) {
  auto r = target("github.com/earthly/earthly:v0.8.13+earthly");
  EXPECT_EQ(r.earthfile.kind, Kind::remote);
  EXPECT_EQ(r.earthfile.path, "github.com/earthly/earthly");
  EXPECT_EQ(r.earthfile.tag, "v0.8.13");
  EXPECT_EQ(r.to_string(), "github.com/earthly/earthly:v0.8.13+earthly");
  auto s = target("github.com/org/repo/sub+t");
  EXPECT_EQ(s.earthfile.path, "github.com/org/repo/sub");
  EXPECT_EQ(s.earthfile.tag, "");
  auto a = artifact("github.com/org/repo/sub:main+t/out/bin");
  EXPECT_EQ(a.earthfile.tag, "main");
  EXPECT_EQ(a.artifact, "/out/bin");
}

TEST(Reference, Alias) {
  auto r = target("lib+build");
  EXPECT_EQ(r.earthfile.kind, Kind::alias);
  EXPECT_EQ(r.earthfile.path, "lib");
}

TEST(Reference, Functions) {
  auto r = target("+COMPILE");
  EXPECT_TRUE(r.is_function());
  EXPECT_TRUE(target("./js+NPM_INSTALL").is_function());
  EXPECT_FALSE(parse_target_ref("+Compile").ok());
  EXPECT_FALSE(parse_artifact_ref("+COMPILE/x").ok());
}

TEST(Reference, Artifacts) {
  EXPECT_EQ(artifact("+build/out.bin").artifact, "/out.bin");
  EXPECT_EQ(artifact("+build/dist/").artifact, "/dist/");
  EXPECT_EQ(artifact("+t/*").artifact, "/*");
  EXPECT_EQ(artifact("+t/a/../b/*.so").artifact, "/b/*.so");
  EXPECT_EQ(artifact("./js+build/dist").to_string(), "./js+build/dist");
  EXPECT_FALSE(parse_artifact_ref("+build").ok());
  EXPECT_FALSE(parse_target_ref("+build/out").ok());
}

TEST(Reference, Errors) {
  EXPECT_FALSE(parse_target_ref("build").ok());
  EXPECT_FALSE(parse_target_ref("+a+b").ok());
  EXPECT_FALSE(parse_target_ref("+").ok());
  EXPECT_FALSE(parse_target_ref("+9x").ok());
  EXPECT_FALSE(parse_target_ref("+a b").ok());
  EXPECT_FALSE(parse_target_ref("al!as+b").ok());
}

TEST(Reference, EscapedPlus) {
  EXPECT_FALSE(has_unescaped_plus("file-with-\\+.txt"));
  EXPECT_TRUE(has_unescaped_plus("+t/x"));
  EXPECT_EQ(unescape_plus("a\\+b"), "a+b");
  auto r = artifact("+t/c\\+\\+/x");
  EXPECT_EQ(r.artifact, "/c++/x");
}

TEST(Reference, DefaultAlias) {
  auto alias = [](std::string_view s) {
    auto r = default_import_alias(parse_earthfile_ref(s).value());
    return r.ok() ? r.value() : "ERROR";
  };
  EXPECT_EQ(alias("github.com/foo/bar/buz:v1"), "buz");
  EXPECT_EQ(alias("./lib"), "lib");
  EXPECT_EQ(alias("./a/b/"), "b");
  EXPECT_EQ(alias(".."), "ERROR");
  EXPECT_EQ(alias("../.."), "ERROR");
}

TEST(Reference, BuildArgFlags) {
  auto r = parse_build_arg_flags({"--A=v", "--B", "w", "--C", "-D=x", "--E="});
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].name, "A");
  EXPECT_EQ(*(*r)[0].value, "v");
  EXPECT_EQ(*(*r)[1].value, "w");
  EXPECT_FALSE((*r)[2].value.has_value());
  EXPECT_EQ(*(*r)[3].value, "x");
  EXPECT_EQ(*(*r)[4].value, "");
  EXPECT_FALSE(parse_build_arg_flags({"x"}).ok());
  EXPECT_FALSE(parse_build_arg_flags({"--=2"}).ok());
  // As Earthly: a name that is no identifier is passed on (and unused).
  auto odd = parse_build_arg_flags({"--1x=2", "--wasi-src-dir=x"});
  ASSERT_TRUE(odd.ok()) << odd.error();
  EXPECT_EQ((*odd)[1].name, "wasi-src-dir");
}

TEST(Reference, GroupedWords) {
  auto w = join_grouped_words({"(+t/a", "--x=1)", "./"});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], "(+t/a --x=1)");
  auto g = split_grouped_ref(w[0]);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->ref, "+t/a");
  ASSERT_EQ(g->args.size(), 1u);
  EXPECT_EQ(g->args[0], "--x=1");
  auto q = split_grouped_ref("\"(+t/p --K=v --K2 \"a b\")\"");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->args.size(), 3u);
  EXPECT_EQ(q->args[2], "\"a b\"");
  EXPECT_FALSE(split_grouped_ref("+t/a"));
  auto nested = split_grouped_ref("(+t/p --K=$(echo (x)))");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->args[0], "--K=$(echo (x))");
}

TEST(Reference, RoundTrip) {
  for (std::string s : {"+a", "./x+b", "../y+c.d-e", "/abs+t", "lib+T_1", "github.com/o/r:v1+x",
                        "gitlab.com/o/r/sub+x"})
    EXPECT_EQ(target(s).to_string(), s);
}

} // namespace
} // namespace earth::resolve
