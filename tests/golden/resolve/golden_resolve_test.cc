// Golden tests for the resolver. A case is a directory:
//   resolve-ok-NAME/    Earthfiles, `args`, expected.txt (the dry-run graph dump)
//   resolve-fail-NAME/  Earthfiles, `args`, expected.txt (the rendered diagnostic)
// `args` holds the CLI words: `[graph|json|dot] [flags] +target [--K=v…]`,
// read by request::parse_build_request as `earth` reads them; with
// `graph`, remote references become placeholder nodes as in `earth graph`;
// `json` and `dot` also print `earth graph --format json|dot`. A `.arg`
// file in the case directory is read like the one in the CLI's cwd.
// EARTH_TEST_ACCEPT=1 rewrites expected.txt.
#include <dirent.h>

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/request/build_request.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/resolve.h"

namespace earth::resolve {
namespace {

std::vector<std::string> cases() {
  std::vector<std::string> out;
  if (DIR* d = opendir(EARTH_GOLDEN_DIR)) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.starts_with("resolve-ok-") || name.starts_with("resolve-fail-")) out.push_back(name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

GitInfo fake_git(const std::string&) {
  GitInfo g;
  g.hash = "0123456789abcdef0123456789abcdef01234567";
  g.branch = "main";
  g.origin_url = "https://user:secret@github.com/acme/widgets.git";
  g.commit_timestamp = "1700000000";
  g.author_timestamp = "1700000000";
  g.author_email = "dev@example.com";
  g.author_name = "Dev";
  g.toplevel = EARTH_GOLDEN_DIR;
  return g;
}

std::string run_case(const std::string& dir) {
  auto args_text = fs::read_file(fs::join(dir, "args"));
  if (!args_text.ok()) return "missing args file\n";
  std::vector<std::string> words = split_words(*args_text);
  bool json = !words.empty() && words[0] == "json";
  bool dot = !words.empty() && words[0] == "dot";
  bool graph = !words.empty() && (words[0] == "graph" || json || dot);
  if (graph) words.erase(words.begin());
  if (words.empty()) return "empty args file\n";
  try {
    // The CLI's own reader: flags, .arg (in the case directory), build args.
    request::BuildRequest req = request::parse_build_request(words, dir);
    Options& o = req.options;
    o.project_dir = dir;
    o.native_platform = "linux/amd64";
    o.git = fake_git;
    o.allow_remote = graph;
    Graph g = resolve(req.target, o);
    return json ? to_json(g) : dot ? to_dot(g) : dry_run_text(g);
  } catch (const Error& e) {
    return std::string(e.what()) + "\n";
  }
}

class GoldenResolve : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenResolve, Matches) {
  std::string dir = fs::join(EARTH_GOLDEN_DIR, GetParam());
  std::string actual = run_case(dir);
  std::string expected_path = fs::join(dir, "expected.txt");
  const char* accept = std::getenv("EARTH_TEST_ACCEPT");
  if (accept && std::string(accept) == "1") {
    ASSERT_TRUE(fs::write_file_atomic(expected_path, actual).ok());
    return;
  }
  auto expected = fs::read_file(expected_path);
  ASSERT_TRUE(expected.ok()) << "no expected.txt; run with EARTH_TEST_ACCEPT=1\n" << actual;
  EXPECT_EQ(*expected, actual);
  bool fail_case = GetParam().starts_with("resolve-fail-");
  bool looks_failed = actual.find("error:") != std::string::npos &&
                      actual.find("would be built") == std::string::npos;
  EXPECT_EQ(fail_case, looks_failed) << "the outcome does not match the case name";
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenResolve, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

} // namespace
} // namespace earth::resolve
