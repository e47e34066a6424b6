// Reading a build invocation: flags, target, build args, environment.
#include "earth/request/build_request.h"

#include <cstdlib>
#include <set>

#include "earth/base/error.h"
#include "earth/base/fs.h"

namespace earth::request {

namespace {

// Build flags that take a value; the rest of kBuildBools are booleans.
const std::set<std::string, std::less<>> kValued = {"--build-arg",
                                                    "--platform",
                                                    "--arg-file-path",
                                                    "--secret",
                                                    "-s",
                                                    "--secret-file",
                                                    "--remote-cache",
                                                    "--cache-from",
                                                    "--config",
                                                    "--env-file-path",
                                                    "--secret-file-path",
                                                    "--artifact",
                                                    "-a",
                                                    "--image",
                                                    "-j",
                                                    "--jobs"};
const std::set<std::string, std::less<>> kBools = {"--dry-run",
                                                   "--push",
                                                   "--no-output",
                                                   "--output",
                                                   "--ci",
                                                   "--strict",
                                                   "--no-cache",
                                                   "-P",
                                                   "--allow-privileged",
                                                   "-i",
                                                   "--interactive",
                                                   "--max-remote-cache",
                                                   "--use-inline-cache",
                                                   "--save-inline-cache",
                                                   "--pull",
                                                   "--explain",
                                                   "--verbose",
                                                   "-V",
                                                   "--auto-skip",
                                                   "--no-auto-skip",
                                                   "--profile"};

unsigned parse_jobs(const std::string& v) {
  char* end = nullptr;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end || n == 0 || n > 1024)
    throw Error("earth: -j needs a number of jobs from 1 to 1024, not '" + v + "'");
  return static_cast<unsigned>(n);
}

bool env_true(const char* a, const char* b) {
  for (const char* name : {a, b})
    if (const char* v = std::getenv(name); v && (std::string(v) == "1" || std::string(v) == "true"))
      return true;
  return false;
}

} // namespace

bool is_build_invocation(const std::vector<std::string>& words) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.find('+') != std::string::npos && !w.starts_with("-")) return true;
    std::string name = w.substr(0, w.find('='));
    // `-j 2 +t`: a valued flag without `=` takes the next word as its value
    // (which is the target for `--artifact +t/path` and `--image +t`).
    if (kValued.count(name) && w.find('=') == std::string::npos && i + 1 < words.size()) {
      if (words[++i].find('+') != std::string::npos) return true;
      continue;
    }
    if (kValued.count(name) || kBools.count(name)) continue;
    return false;
  }
  return !words.empty();
}

namespace {

// One pass over the words: flags before the target set the request, words
// after it are build args (except --build-arg, accepted anywhere).
class Reader {
public:
  explicit Reader(const std::vector<std::string>& words) : words_(words) {}
  BuildRequest read(const std::string& dir);

private:
  void word(const std::string& w);
  void valued(const std::string& name, const std::string& value);
  void artifact(const std::string& value);
  void boolean(const std::string& name, bool on);
  void environment();

  const std::vector<std::string>& words_;
  size_t i_ = 0;
  BuildRequest req_;
  std::vector<std::string> build_args_;
  bool have_target_ = false;
};

BuildRequest Reader::read(const std::string& dir) {
  for (i_ = 0; i_ < words_.size(); ++i_) word(words_[i_]);
  if (!have_target_) throw Error("earth: expected a target reference such as +build");
  environment();
  std::string arg_file =
      dir == "." || req_.arg_file.starts_with("/") ? req_.arg_file : fs::join(dir, req_.arg_file);
  req_.options.overrides = collect_overrides(arg_file, build_args_, req_.arg_flags);
  return std::move(req_);
}

void Reader::word(const std::string& w) {
  if (have_target_ && w != "--build-arg" && !w.starts_with("--build-arg=")) {
    req_.arg_flags.push_back(w);
    return;
  }
  std::string name = w.substr(0, w.find('='));
  bool inline_value = w.find('=') != std::string::npos;
  if (kValued.count(name)) {
    if (inline_value)
      valued(name, w.substr(w.find('=') + 1));
    else if (i_ + 1 < words_.size())
      valued(name, words_[++i_]);
    else
      throw Error(name + " needs a value");
  } else if (kBools.count(name)) {
    boolean(name, !inline_value || w.substr(w.find('=') + 1) == "true");
  } else if (w.starts_with("-")) {
    throw Error("earth: unknown flag " + w + " (see earth --help)");
  } else {
    req_.target = w;
    have_target_ = true;
  }
}

void Reader::valued(const std::string& name, const std::string& value) {
  if (name == "--build-arg")
    build_args_.push_back(value);
  else if (name == "--platform")
    req_.options.platform = value;
  else if (name == "--arg-file-path")
    req_.arg_file = value;
  else if (name == "-j" || name == "--jobs")
    req_.jobs = parse_jobs(value);
  else if (name == "--artifact" || name == "-a")
    artifact(value);
  else if (name == "--image")
    req_.target = value, have_target_ = true, req_.image_only = true;
}

// --artifact +t/path [dest]: the target is the artifact's; a next word that
// is no flag is where the artifact goes.
void Reader::artifact(const std::string& value) {
  size_t slash = value.find('/', value.find('+'));
  if (value.find('+') == std::string::npos || slash == std::string::npos)
    throw Error("earth: --artifact needs +target/path, not '" + value + "'");
  req_.artifact = value;
  req_.target = value.substr(0, slash);
  have_target_ = true;
  if (i_ + 1 < words_.size() && !words_[i_ + 1].starts_with("-")) req_.artifact_dest = words_[++i_];
}

void Reader::boolean(const std::string& name, bool on) {
  if (name == "--dry-run") req_.dry_run = on;
  if (name == "--push") req_.options.push = on;
  if (name == "--ci") req_.options.ci = on;
  if (name == "--no-cache") req_.no_cache = on;
  if (name == "-P" || name == "--allow-privileged") req_.allow_privileged = on;
  if (name == "--no-output") req_.no_output = on;
  if (name == "--output") req_.output = on;
  if (name == "--strict") req_.strict = on;
  if (name == "-V" || name == "--verbose") req_.verbose = on;
  if (name == "--profile") req_.profile = on;
  if (name == "--explain") req_.explain = on;
}

// EARTH(LY)_* switches add to the flags. --ci is --no-output --strict for a
// target, only --strict for --artifact and --image (reference §4.2);
// --output lets outputs through anyway.
void Reader::environment() {
  if (const char* p = std::getenv("EARTHLY_ARG_FILE_PATH"); p && req_.arg_file == ".arg")
    req_.arg_file = p;
  if (const char* p = std::getenv("EARTH_ARG_FILE_PATH"); p && req_.arg_file == ".arg")
    req_.arg_file = p;
  req_.options.push |= env_true("EARTHLY_PUSH", "EARTH_PUSH");
  req_.options.ci |= env_true("EARTHLY_CI", "EARTH_CI");
  req_.no_cache |= env_true("EARTHLY_NO_CACHE", "EARTH_NO_CACHE");
  req_.allow_privileged |= env_true("EARTHLY_ALLOW_PRIVILEGED", "EARTH_ALLOW_PRIVILEGED");
  req_.strict |= env_true("EARTHLY_STRICT", "EARTH_STRICT");
  if (req_.options.ci) {
    req_.strict = true;
    if (req_.artifact.empty() && !req_.image_only && !req_.output) req_.no_output = true;
  }
}

} // namespace

BuildRequest parse_build_request(const std::vector<std::string>& words, const std::string& dir) {
  return Reader(words).read(dir);
}

} // namespace earth::request
