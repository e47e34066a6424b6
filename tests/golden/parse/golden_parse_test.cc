// Golden tests for the parser (STYLE.md rule 12). Each parse-ok-NAME.earth must
// parse and dump to parse-ok-NAME.ast.json (compared as JSON, key order free);
// each parse-fail-NAME.earth must fail with exactly parse-fail-NAME.err. An
// optional parse-ok-NAME.srcmap.json is compared against the --source-map
// dump. EARTH_TEST_ACCEPT=1 rewrites expectations that differ; files listed in
// KNOWN_FAILURES are skipped (and never rewritten).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "earth/syntax/ast_json.h"
#include "earth/syntax/diagnostic.h"
#include "earth/syntax/parser.h"
#include "earth/syntax/source.h"

namespace {

namespace fs = std::filesystem;
using earth::syntax::ParseResult;
using earth::syntax::SourceFile;

const fs::path golden_dir = EARTH_GOLDEN_PARSE_DIR;

bool accept_mode() {
  const char* v = std::getenv("EARTH_TEST_ACCEPT");
  return v && std::string(v) == "1";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// KNOWN_FAILURES: "FILE.earth reason..." per line; '#' starts a comment line.
std::map<std::string, std::string> known_failures() {
  std::map<std::string, std::string> out;
  std::istringstream in(read_text(golden_dir / "KNOWN_FAILURES"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.find_first_of(" \t");
    std::string file = line.substr(0, space);
    std::string reason = space == std::string::npos ? "" : line.substr(space + 1);
    out[file] = reason.empty() ? "listed in KNOWN_FAILURES" : reason;
  }
  return out;
}

std::vector<std::string> golden_files() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(golden_dir)) {
    std::string name = entry.path().filename().string();
    if (ends_with(name, ".earth") &&
        (name.starts_with("parse-ok-") || name.starts_with("parse-fail-")))
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string stem(const std::string& file) {
  return file.substr(0, file.size() - 6);
}

std::string render_all(const ParseResult& r, const SourceFile& source) {
  std::string out;
  for (const auto& d : r.diagnostics) out += earth::syntax::render(d, &source);
  return out;
}

// Compares `got` with the JSON in `expected_path`; in accept mode rewrites it.
void check_json(const nlohmann::ordered_json& got, const fs::path& expected_path) {
  // Non-UTF-8 bytes in words dump as U+FFFD, as `earth debug ast` prints them.
  std::string got_text = got.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  bool exists = fs::exists(expected_path);
  nlohmann::json expected;
  if (exists) {
    expected = nlohmann::json::parse(read_text(expected_path), nullptr, false);
    ASSERT_FALSE(expected.is_discarded()) << expected_path << " is not valid JSON";
  }
  bool same = exists && expected == nlohmann::json::parse(got_text);
  if (same) return;
  if (accept_mode()) {
    write_text(expected_path, got_text);
    return;
  }
  ASSERT_TRUE(exists) << expected_path << " is missing; run with EARTH_TEST_ACCEPT=1. Got:\n"
                      << got_text;
  ADD_FAILURE() << expected_path.filename() << " differs.\nexpected:\n"
                << nlohmann::ordered_json(expected).dump(2) << "\ngot:\n"
                << got_text;
}

void check_text(const std::string& got, const fs::path& expected_path) {
  bool exists = fs::exists(expected_path);
  if (exists && read_text(expected_path) == got) return;
  if (accept_mode()) {
    write_text(expected_path, got);
    return;
  }
  ASSERT_TRUE(exists) << expected_path << " is missing; run with EARTH_TEST_ACCEPT=1. Got:\n"
                      << got;
  EXPECT_EQ(read_text(expected_path), got) << expected_path.filename() << " differs";
}

void run_ok(const std::string& file, const SourceFile& source) {
  ParseResult r = earth::syntax::parse(source);
  ASSERT_TRUE(r.ok()) << file << " should parse, got:\n" << render_all(r, source);
  check_json(earth::syntax::to_json(r.earthfile), golden_dir / (stem(file) + ".ast.json"));
  fs::path srcmap = golden_dir / (stem(file) + ".srcmap.json");
  if (fs::exists(srcmap)) check_json(earth::syntax::to_json(r.earthfile, true), srcmap);
}

void run_fail(const std::string& file, const SourceFile& source) {
  ParseResult r = earth::syntax::parse(source);
  ASSERT_FALSE(r.ok()) << file << " should fail to parse, got:\n"
                       << earth::syntax::to_json(r.earthfile).dump(2);
  check_text(render_all(r, source), golden_dir / (stem(file) + ".err"));
}

class GoldenParse : public testing::TestWithParam<std::string> {};

TEST_P(GoldenParse, Matches) {
  const std::string& file = GetParam();
  auto known = known_failures();
  if (auto it = known.find(file); it != known.end()) GTEST_SKIP() << it->second;
  // The path is relative to the golden dir so that rendered errors are stable.
  SourceFile source(file, read_text(golden_dir / file));
  if (file.starts_with("parse-ok-"))
    run_ok(file, source);
  else
    run_fail(file, source);
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = stem(info.param);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenParse, testing::ValuesIn(golden_files()), test_name);

// Every Earthfile under examples/ must parse; the parse-ok-realistic-* goldens
// pin copies of them.
std::vector<std::string> example_earthfiles() {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(EARTH_EXAMPLES_DIR))
    if (entry.path().filename() == "Earthfile")
      out.push_back(fs::relative(entry.path(), EARTH_EXAMPLES_DIR).string());
  std::sort(out.begin(), out.end());
  return out;
}

class ExampleParse : public testing::TestWithParam<std::string> {};

TEST_P(ExampleParse, Parses) {
  SourceFile source(GetParam(), read_text(fs::path(EARTH_EXAMPLES_DIR) / GetParam()));
  ParseResult r = earth::syntax::parse(source);
  EXPECT_TRUE(r.ok()) << render_all(r, source);
  ASSERT_TRUE(r.earthfile.version.has_value());
  EXPECT_EQ(r.earthfile.version->args.back(), "0.8");
}

std::string example_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleParse, testing::ValuesIn(example_earthfiles()),
                         example_name);

} // namespace
