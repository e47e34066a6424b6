// Reading a build invocation: flags, target, build args, environment.
#include "earth/request/build_request.h"

#include <cstdlib>
#include <set>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/request/flags.h"

namespace earth::request {

namespace {

// "; did you mean --push?" for a misspelt build flag.
std::string unknown_flag_hint(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& f : build_flags()) names.emplace_back(f.name);
  std::string best = closest(name, names);
  return best.empty() ? "" : "; did you mean " + best + "?";
}

unsigned parse_jobs(const std::string& v) {
  char* end = nullptr;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end || n == 0 || n > 1024)
    throw Error("earth: -j needs a number of jobs from 1 to 1024, not '" + v + "'");
  return static_cast<unsigned>(n);
}

// One short-flag word as pflag (Earthly's cobra) reads it: `-j1` is `-j 1`,
// `-PV` is `-P -V`, `-Pj2` is `-P -j 2`, `-P=false` stays. A word with a
// letter that is no short flag is kept whole, for the unknown-flag error.
std::vector<std::string> split_short_cluster(const std::string& w) {
  std::vector<std::string> out;
  for (size_t i = 1; i < w.size(); ++i) {
    std::string name = std::string("-") + w[i];
    const FlagSpec* f = find_build_flag(name);
    if (!f) return {w};
    std::string rest = w.substr(i + 1);
    if (rest.starts_with("=")) {
      out.push_back(name + rest);
      return out;
    }
    out.push_back(name);
    if (f->kind == FlagSpec::Kind::valued) {
      if (!rest.empty()) out.push_back(rest);
      return out;
    }
  }
  return out;
}

// The words with short-flag clusters split, up to the target (the words
// after it are build args).
std::vector<std::string> split_short_flags(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  bool target_seen = false;
  for (const auto& w : words) {
    if (target_seen || w.size() <= 2 || w[0] != '-' || w[1] == '-' || w[2] == '=') {
      out.push_back(w);
      target_seen = target_seen || (!w.starts_with("-") && w.find('+') != std::string::npos);
      continue;
    }
    for (auto& part : split_short_cluster(w)) {
      target_seen = target_seen || part.starts_with("+");
      out.push_back(std::move(part));
    }
  }
  return out;
}

} // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

bool is_build_invocation(const std::vector<std::string>& given) {
  const std::vector<std::string> words = split_short_flags(given);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.find('+') != std::string::npos && !w.starts_with("-")) return true;
    const FlagSpec* f = find_build_flag(w.substr(0, w.find('=')));
    // `-j 2 +t`: a valued flag without `=` takes the next word as its value
    // (which is the target for `--artifact +t/path` and `--image +t`).
    if (f && f->kind == FlagSpec::Kind::valued && w.find('=') == std::string::npos &&
        i + 1 < words.size()) {
      if (words[++i].find('+') != std::string::npos) return true;
      continue;
    }
    if (f) continue;
    return false;
  }
  return !words.empty();
}

namespace {

// One pass over the words: flags before the target set the request, words
// after it are build args (except --build-arg, accepted anywhere).
class Reader {
public:
  Reader(const std::vector<std::string>& words, const EnvLookup& env)
      : words_(split_short_flags(words)), env_(env) {}
  BuildRequest read(const std::string& dir);

private:
  void word(const std::string& w);
  void valued(std::string_view name, const std::string& value);
  void artifact(const std::string& value);
  void boolean(std::string_view name, bool on);
  void environment();
  void from_env(const FlagSpec& f);
  void ci();

  const std::vector<std::string> words_;
  const EnvLookup& env_;
  size_t i_ = 0;
  BuildRequest req_;
  std::vector<std::string> build_args_;
  std::set<std::string_view> given_; // the flags on the command line, by long name
  bool have_target_ = false;
};

BuildRequest Reader::read(const std::string& dir) {
  for (i_ = 0; i_ < words_.size(); ++i_) word(words_[i_]);
  if (!have_target_) throw Error("earth: expected a target reference such as +build");
  environment();
  std::string arg_file =
      dir == "." || req_.arg_file.starts_with("/") ? req_.arg_file : fs::join(dir, req_.arg_file);
  req_.options.overrides = collect_overrides(arg_file, build_args_, req_.arg_flags, env_);
  std::string& secret_file = req_.secret_sources.secret_file;
  if (!secret_file.empty() && dir != "." && !secret_file.starts_with("/"))
    secret_file = fs::join(dir, secret_file);
  req_.secrets = collect_secrets(req_.secret_sources);
  return std::move(req_);
}

void Reader::word(const std::string& w) {
  if (have_target_ && w != "--build-arg" && !w.starts_with("--build-arg=")) {
    req_.arg_flags.push_back(w);
    return;
  }
  std::string name = w.substr(0, w.find('='));
  bool inline_value = w.find('=') != std::string::npos;
  const FlagSpec* f = find_build_flag(name);
  if (f) given_.insert(f->name);
  if (f && f->kind == FlagSpec::Kind::valued) {
    if (inline_value)
      valued(f->name, w.substr(w.find('=') + 1));
    else if (i_ + 1 < words_.size())
      valued(f->name, words_[++i_]);
    else
      throw Error("earth: " + name + " needs a value");
  } else if (f) {
    auto on = inline_value ? parse_bool(w.substr(w.find('=') + 1)) : true;
    if (!on)
      throw Error("earth: " + name + " is true or false, not '" + w.substr(name.size() + 1) + "'");
    boolean(f->name, *on);
  } else if (w.starts_with("-")) {
    throw Error("earth: unknown flag " + w + unknown_flag_hint(name) + " (see earth --help)");
  } else {
    req_.target = w;
    have_target_ = true;
  }
}

void Reader::valued(std::string_view name, const std::string& value) {
  if (name == "--build-arg")
    build_args_.push_back(value);
  else if (name == "--platform")
    req_.options.platform = value;
  else if (name == "--arg-file-path")
    req_.arg_file = value;
  else if (name == "--progress")
    req_.progress = value;
  else if (name == "--jobs")
    req_.jobs = parse_jobs(value);
  else if (name == "--artifact")
    artifact(value);
  else if (name == "--image")
    req_.target = value, have_target_ = true, req_.image_only = true;
  else if (name == "--secret")
    req_.secret_sources.secret_flags.push_back(value);
  else if (name == "--secret-file")
    req_.secret_sources.secret_file_flags.push_back(value);
  else if (name == "--secret-file-path")
    req_.secret_sources.secret_file = value;
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

void Reader::boolean(std::string_view name, bool on) {
  if (name == "--dry-run") req_.dry_run = on;
  if (name == "--push") req_.options.push = on;
  if (name == "--ci") req_.options.ci = on;
  if (name == "--no-cache") req_.no_cache = on;
  if (name == "--allow-privileged") req_.allow_privileged = on;
  if (name == "--no-output") req_.no_output = on;
  if (name == "--output") req_.output = on;
  if (name == "--strict") req_.strict = on;
  if (name == "--verbose") req_.verbose = on;
  if (name == "--profile") req_.profile = on;
  if (name == "--github-annotations") req_.github_annotations = on;
  if (name == "--explain") req_.explain = on;
}

// Every flag not on the command line takes its environment equivalent:
// EARTH_X, else EARTHLY_X.
void Reader::environment() {
  for (const auto& f : build_flags())
    if (!f.env.empty() && !given_.count(f.name)) from_env(f);
  ci();
}

void Reader::from_env(const FlagSpec& f) {
  for (const char* prefix : {"EARTH_", "EARTHLY_"}) {
    std::string var = prefix + std::string(f.env);
    auto v = env_(var);
    if (!v) continue;
    if (f.kind == FlagSpec::Kind::valued) {
      if (!v->empty()) valued(f.name, *v);
    } else if (auto on = v->empty() ? std::optional<bool>(false) : parse_bool(*v)) {
      boolean(f.name, *on);
    } else {
      throw Error("earth: " + var + " is true or false (or 1 or 0), not '" + *v + "'");
    }
    return;
  }
}

// --ci is --no-output --strict for a target, only --strict for --artifact
// and --image (reference §4.2); --output lets outputs through anyway.
void Reader::ci() {
  if (!req_.options.ci) return;
  req_.strict = true;
  if (req_.artifact.empty() && !req_.image_only && !req_.output) req_.no_output = true;
}

} // namespace

BuildRequest parse_build_request(const std::vector<std::string>& words, const std::string& dir,
                                 const EnvLookup& env) {
  return Reader(words, env).read(dir);
}

} // namespace earth::request
