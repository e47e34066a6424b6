// Golden tests of the plain and JSON printers on scripted event sequences
// (README.md). The tty printer is tested in a real terminal by
// tests/e2e/output_test.sh.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "earth/output/status.h"

namespace earth::output {
namespace {

using nlohmann::json;

std::vector<std::string> cases() {
  std::vector<std::string> out;
  if (DIR* d = opendir(EARTH_GOLDEN_OUTPUT_DIR)) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.ends_with(".events.json")) out.push_back(name.substr(0, name.size() - 12));
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Duration ms(const json& e, const char* key) {
  return std::chrono::milliseconds(e.value(key, 0));
}

StepInfo step(const json& e) {
  StepInfo s;
  s.target = e.at("target");
  s.file = e.value("file", "Earthfile");
  s.line = e.value("line", 0u);
  s.text = e.value("text", "");
  s.where = s.file + ":" + std::to_string(s.line) + ":3";
  return s;
}

BuildTotals totals(const json& e) {
  BuildTotals t;
  t.success = e.value("success", false);
  t.targets = e.value("targets", 0u);
  t.targets_cached = e.value("targets_cached", 0u);
  t.targets_failed = e.value("targets_failed", 0u);
  t.steps_run = e.value("steps_run", 0u);
  t.steps_cached = e.value("steps_cached", 0u);
  t.wall = ms(e, "wall_ms");
  t.saved = ms(e, "saved_ms");
  t.error = e.value("error", "");
  for (const auto& o : e.value("outputs", json::array()))
    t.outputs.push_back(
        {o.at("kind") == "image" ? OutputInfo::Kind::image : OutputInfo::Kind::artifact,
         o.at("target"), o.at("what")});
  return t;
}

void send(Status& s, const json& e) {
  const std::string& kind = e.at("e").get_ref<const std::string&>();
  if (kind == "target_queued") return s.target_queued(e.at("target").get<std::string>());
  if (kind == "target_started") return s.target_started(e.at("target").get<std::string>());
  if (kind == "target_finished")
    return s.target_finished(e.at("target").get<std::string>(), e.value("cached", false),
                             ms(e, "ms"));
  if (kind == "target_failed") return s.target_failed(e.at("target").get<std::string>());
  if (kind == "step_started") return s.step_started(step(e));
  if (kind == "step_cached") return s.step_cached(step(e), ms(e, "ms"));
  if (kind == "step_finished") return s.step_finished(step(e), ms(e, "ms"));
  if (kind == "step_output") return s.step_output(step(e), e.at("line_text").get<std::string>());
  if (kind == "step_failed") {
    StepFailure f;
    f.message = e.at("message");
    f.exit_status = e.value("exit_status", -1);
    f.tail = e.value("tail", std::vector<std::string>{});
    f.hint = e.value("hint", "");
    return s.step_failed(step(e), f);
  }
  if (kind == "build_finished") return s.build_finished(totals(e));
  FAIL() << "unknown event " << kind;
}

enum class Printer { plain, github, json };

std::string print(const json& script, Printer which) {
  PrinterOptions o;
  const json& opts = script.value("options", json::object());
  o.verbose = opts.value("verbose", false);
  o.padding = opts.value("padding", 20);
  o.colour = opts.value("colour", false);
  o.github = which == Printer::github;
  long now_ms = 0;
  o.elapsed = [&now_ms] { return std::chrono::milliseconds(now_ms); };
  std::FILE* f = std::tmpfile();
  {
    auto status = which == Printer::json ? make_json_status(f, o) : make_plain_status(f, o);
    for (const auto& e : script.at("events")) {
      now_ms = e.value("at", now_ms);
      send(*status, e);
    }
  }
  std::string out;
  std::rewind(f);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

class GoldenOutput : public testing::TestWithParam<std::string> {};

TEST_P(GoldenOutput, Matches) {
  std::string base = std::string(EARTH_GOLDEN_OUTPUT_DIR) + "/" + GetParam();
  json script = json::parse(read(base + ".events.json"));
  bool accept = std::getenv("EARTH_TEST_ACCEPT") != nullptr;
  for (auto [which, ext] :
       {std::pair{Printer::plain, ".plain"}, std::pair{Printer::github, ".github"},
        std::pair{Printer::json, ".jsonl"}}) {
    std::string got = print(script, which);
    if (accept) {
      std::ofstream(base + ext, std::ios::binary) << got;
      continue;
    }
    EXPECT_EQ(got, read(base + ext)) << GetParam() << ext << " (EARTH_TEST_ACCEPT=1 rewrites it)";
  }
  // Every JSON line is an object with the version, event and time fields.
  std::istringstream lines(print(script, Printer::json));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    EXPECT_EQ(j.at("v"), 1) << line;
    EXPECT_TRUE(j.at("event").is_string()) << line;
    EXPECT_TRUE(j.at("ms").is_number_integer()) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenOutput, testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

} // namespace
} // namespace earth::output
