// `earth [flags] +TARGET [--ARG=value...]`: resolve, then build (or, with
// --dry-run, print what would be built).
#include <signal.h>

#include <cstdio>
#include <set>
#include <thread>

#include "build_request.h"
#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/build/build.h"
#include "earth/cli/commands.h"
#include "earth/exec/linux_runtime.h"
#include "earth/image/image_store.h"
#include "earth/output/status.h"
#include "earth/resolve/resolve.h"

namespace earth::cli {

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
      else if (name == "-j" || name == "--jobs")
        req.jobs = parse_jobs(value);
      else if (name == "--artifact" || name == "-a") {
        // --artifact +t/path [dest]: the target is the artifact's; a next
        // word that is no flag is where the artifact goes.
        size_t slash = value.find('/', value.find('+'));
        if (value.find('+') == std::string::npos || slash == std::string::npos)
          throw Error("earth: --artifact needs +target/path, not '" + value + "'");
        req.artifact = value;
        req.target = value.substr(0, slash);
        have_target = true;
        if (i + 1 < words.size() && !words[i + 1].starts_with("-")) req.artifact_dest = words[++i];
      } else if (name == "--image")
        req.target = value, have_target = true, req.image_only = true;
      continue;
    }
    if (kBools.count(name)) {
      bool on = !inline_value || w.substr(w.find('=') + 1) == "true";
      if (name == "--dry-run") req.dry_run = on;
      if (name == "--push") req.options.push = on;
      if (name == "--ci") req.options.ci = on;
      if (name == "--no-cache") req.no_cache = on;
      if (name == "-P" || name == "--allow-privileged") req.allow_privileged = on;
      if (name == "--no-output") req.no_output = on;
      if (name == "--output") req.output = on;
      if (name == "--strict") req.strict = on;
      if (name == "-V" || name == "--verbose") req.verbose = on;
      if (name == "--profile") req.profile = on;
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
  req.no_cache |= env_true("EARTHLY_NO_CACHE", "EARTH_NO_CACHE");
  req.allow_privileged |= env_true("EARTHLY_ALLOW_PRIVILEGED", "EARTH_ALLOW_PRIVILEGED");
  req.strict |= env_true("EARTHLY_STRICT", "EARTH_STRICT");
  // --ci is --no-output --strict for a target, only --strict for --artifact
  // and --image (reference §4.2); --output lets outputs through anyway.
  if (req.options.ci) {
    req.strict = true;
    if (req.artifact.empty() && !req.image_only && !req.output) req.no_output = true;
  }
  req.options.overrides = resolve::collect_overrides(req.arg_file, build_args, req.arg_flags);
  return req;
}

namespace {

// The commit HEAD names in the git checkout holding `dir`, read from .git's
// files (no `git` process: this runs on every build that saves an image);
// empty when `dir` is not in a checkout.
std::string git_head(std::string dir) {
  for (;; dir = fs::dirname(dir)) {
    std::string git = fs::join(dir, ".git");
    if (fs::is_dir(git)) break;
    if (auto text = fs::read_file(git); text && text->starts_with("gitdir: ")) {
      std::string to = std::string(trim(text->substr(8)));
      dir = to.starts_with("/") ? fs::dirname(to) : fs::dirname(fs::join(dir, to));
      break;
    }
    if (dir == "/" || dir.empty()) return {};
  }
  std::string git = fs::join(dir, ".git");
  if (!fs::is_dir(git)) return {};
  auto head = fs::read_file(fs::join(git, "HEAD"));
  if (!head) return {};
  std::string h(trim(*head));
  if (!h.starts_with("ref: ")) return h;
  std::string ref = h.substr(5);
  if (auto sha = fs::read_file(fs::join(git, ref))) return std::string(trim(*sha));
  if (auto packed = fs::read_file(fs::join(git, "packed-refs")))
    for (const auto& line : split(*packed, '\n'))
      if (line.size() > 41 && line.substr(41) == ref) return line.substr(0, 40);
  return {};
}

build::BuildOptions build_options(const BuildRequest& req) {
  build::BuildOptions opts;
  opts.cache_dir = image::ImageStore::default_cache_dir();
  opts.jobs = req.jobs;
  opts.no_cache = req.no_cache;
  opts.allow_privileged = req.allow_privileged;
  opts.no_output = req.no_output;
  opts.strict = req.strict;
  opts.push = req.options.push;
  if (!req.artifact.empty()) {
    opts.only_artifact = req.artifact.substr(req.artifact.find('/', req.artifact.find('+')));
    opts.only_artifact_dest = req.artifact_dest.empty() ? "." : req.artifact_dest;
  }
  opts.only_image = req.image_only;
  opts.version = req.options.version;
  std::string project = req.options.project_dir;
  opts.git_sha = [project] {
    return git_head(project.starts_with("/") ? project
                                             : fs::normalize(fs::join(fs::current_dir(), project)));
  };
  return opts;
}

void run_build(const resolve::Graph& graph, const BuildRequest& req, Profile& profile) {
  build::BuildOptions opts = build_options(req);
  exec::kill_runs_on_signals(); // first: the store's temp-file cleanup chains to it
  auto store = profile.time("store", [&] { return image::ImageStore::open(opts.cache_dir); });
  if (!store) throw Error(store.error(), ExitCode::internal_error);
  exec::LinuxRuntime runtime;
  auto status = output::make_plain_status(stderr, req.verbose);
  build::BuildServices services{runtime, **store, *status, &profile};
  build::build(graph, opts, services);
}

} // namespace

// The driver, as a list of timed passes (--profile prints them): parse the
// request, load + parse + resolve the Earthfiles, then open the store and
// build (open, execute, export).
int cmd_build(Args& args) {
  Profile profile;
  std::vector<std::string> words = args.rest();
  BuildRequest req = parse_build_request(words);
  // Resolve first, so a wrong target or argument is reported as such.
  resolve::Graph graph =
      profile.time("resolve", [&] { return resolve::resolve(req.target, req.options); });
  if (req.dry_run) {
    std::fputs(resolve::dry_run_text(graph).c_str(), stdout);
  } else {
    run_build(graph, req, profile);
  }
  if (req.profile) {
    std::fprintf(stderr, "earth --profile:\n");
    profile.print(stderr);
  }
  return 0;
}

} // namespace earth::cli
