// A project dir, a cache and the fake runtime, for engine tests that build
// for real without a sandbox. RUN scripts are a tiny language the default
// fake understands (a test may set its own action):
//   write PATH TEXT   creates PATH (relative to the workdir) in the new layer
//   fail TEXT         prints TEXT and exits 3
//   anything else     succeeds and changes nothing
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/build/build.h"
#include "earth/resolve/resolve.h"

namespace earth::build {

class FakeBuild : public ::testing::Test {
protected:
  fs::TempDir dir{"/tmp", "earth-build-test"};
  fs::TempDir cache{"/tmp", "earth-build-cache"};
  exec::FakeRuntime runtime;
  output::RecordingStatus status;
  std::unique_ptr<image::ImageStore> images = image::ImageStore::open(cache.path()).value();

  FakeBuild() {
    runtime.set_action([](const exec::RunSpec& spec) -> Result<exec::RunResult> {
      std::string script = spec.argv.size() == 3 ? spec.argv[2] : join(spec.argv, " ");
      auto words = split(script, ' ');
      if (words[0] == "write" && words.size() >= 3) {
        std::string path = fs::join(spec.upper_dir, fs::join(spec.cwd, words[1]));
        (void)fs::make_dirs(fs::dirname(path));
        std::vector<std::string> rest(words.begin() + 2, words.end());
        (void)fs::write_file_atomic(path, join(rest, " "));
      }
      if (words[0] == "fail") {
        spec.on_stderr(script.substr(5));
        return exec::RunResult{.exit_status = 3};
      }
      return exec::RunResult{.exit_status = 0};
    });
  }

  void write(const std::string& rel, const std::string& text) {
    std::string path = fs::join(dir.path(), rel);
    ASSERT_TRUE(fs::make_dirs(fs::dirname(path)).ok());
    ASSERT_TRUE(fs::write_file_atomic(path, text).ok());
  }
  std::string read(const std::string& rel) {
    auto r = fs::read_file(fs::join(dir.path(), rel));
    return r ? *r : "<missing>";
  }
  resolve::Graph resolve(const std::string& target,
                         std::vector<std::pair<std::string, std::string>> overrides = {}) {
    resolve::Options o;
    o.project_dir = dir.path();
    o.overrides = std::move(overrides);
    o.native_platform = "linux/amd64";
    o.git = [](const std::string&) { return resolve::GitInfo{}; };
    return resolve::resolve(target, o);
  }
  output::BuildTotals build(const std::string& target, BuildOptions opts = {},
                            std::vector<std::pair<std::string, std::string>> overrides = {}) {
    opts.cache_dir = cache.path();
    if (!opts.jobs) opts.jobs = 1;
    BuildServices services{runtime, *images, status};
    return build::build(resolve(target, std::move(overrides)), opts, services);
  }
  // The scripts of every run so far.
  std::vector<std::string> scripts() const {
    std::vector<std::string> out;
    for (const auto& r : runtime.runs()) out.push_back(r.argv.back());
    return out;
  }
};

} // namespace earth::build
