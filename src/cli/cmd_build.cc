// `earth [flags] +TARGET [--ARG=value...]`: for now only --dry-run, which
// resolves the target DAG and prints what would be built (building is a
// later issue).
#include <cstdio>
#include <set>

#include "build_request.h"
#include "earth/base/error.h"
#include "earth/cli/commands.h"
#include "earth/resolve/resolve.h"

namespace earth::cli {

namespace {

// Build flags that take a value; the rest of kBuildBools are booleans.
const std::set<std::string, std::less<>> kValued = {
    "--build-arg", "--platform",      "--arg-file-path",    "--secret",
    "-s",          "--secret-file",   "--remote-cache",     "--cache-from",
    "--config",    "--env-file-path", "--secret-file-path", "--artifact",
    "-a",          "--image"};
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

bool env_true(const char* a, const char* b) {
  for (const char* name : {a, b})
    if (const char* v = std::getenv(name); v && (std::string(v) == "1" || std::string(v) == "true"))
      return true;
  return false;
}

} // namespace

bool is_build_invocation(const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (w.find('+') != std::string::npos && !w.starts_with("-")) return true;
    std::string name = w.substr(0, w.find('='));
    if (kValued.count(name) || kBools.count(name)) continue;
    return false;
  }
  return !words.empty();
}

BuildRequest parse_build_request(const std::vector<std::string>& words) {
  BuildRequest req;
  std::vector<std::string> build_args;
  bool have_target = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (have_target && w != "--build-arg" && !w.starts_with("--build-arg=")) {
      req.arg_flags.push_back(w);
      continue;
    }
    std::string name = w.substr(0, w.find('='));
    bool inline_value = w.find('=') != std::string::npos;
    if (kValued.count(name)) {
      std::string value;
      if (inline_value)
        value = w.substr(w.find('=') + 1);
      else if (i + 1 < words.size())
        value = words[++i];
      else
        throw Error(name + " needs a value");
      if (name == "--build-arg")
        build_args.push_back(value);
      else if (name == "--platform")
        req.options.platform = value;
      else if (name == "--arg-file-path")
        req.arg_file = value;
      continue;
    }
    if (kBools.count(name)) {
      bool on = !inline_value || w.substr(w.find('=') + 1) == "true";
      if (name == "--dry-run") req.dry_run = on;
      if (name == "--push") req.options.push = on;
      if (name == "--ci") req.options.ci = on;
      continue;
    }
    if (w.starts_with("-")) throw Error("earth: unknown flag " + w + " (see earth --help)");
    req.target = w;
    have_target = true;
  }
  if (!have_target) throw Error("earth: expected a target reference such as +build");
  if (const char* p = std::getenv("EARTHLY_ARG_FILE_PATH"); p && req.arg_file == ".arg")
    req.arg_file = p;
  if (const char* p = std::getenv("EARTH_ARG_FILE_PATH"); p && req.arg_file == ".arg")
    req.arg_file = p;
  req.options.push |= env_true("EARTHLY_PUSH", "EARTH_PUSH");
  req.options.ci |= env_true("EARTHLY_CI", "EARTH_CI");
  req.options.overrides = resolve::collect_overrides(req.arg_file, build_args, req.arg_flags);
  return req;
}

int cmd_build(Args& args) {
  std::vector<std::string> words = args.rest();
  BuildRequest req = parse_build_request(words);
  // Resolve first, so a wrong target or argument is reported as such.
  resolve::Graph graph = resolve::resolve(req.target, req.options);
  if (!req.dry_run)
    throw Error("earth: building is not implemented yet; use --dry-run to see what would be built");
  std::fputs(resolve::dry_run_text(graph).c_str(), stdout);
  return 0;
}

} // namespace earth::cli
