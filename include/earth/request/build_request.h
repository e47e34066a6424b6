// A build invocation read from words: `[flags] TARGET [--ARG=value...]`
// plus the .arg file and the EARTH(LY)_* environment switches. One reader
// for `earth +t`, `earth graph` and the resolver's golden tests.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "earth/request/secrets.h"
#include "earth/resolve/resolve.h"

namespace earth::request {

struct BuildRequest {
  std::string target;
  std::vector<std::string> arg_flags; // the words after the target
  std::string arg_file = ".arg";
  bool dry_run = false;
  bool no_cache = false, allow_privileged = false, no_output = false, strict = false;
  bool output = false; // --output: outputs even under --ci
  bool verbose = false;
  bool profile = false;            // --profile: print the time of each pass
  std::string progress;            // --progress auto|tty|plain|json (checked by the CLI)
  bool github_annotations = false; // --github-annotations
  bool explain = false;            // --explain: say why each step runs
  unsigned jobs = 0;
  std::string artifact, artifact_dest; // --artifact +t/path [dest]
  bool image_only = false;             // --image +t
  SecretSources secret_sources;        // --secret, --secret-file, --secret-file-path
  Secrets secrets;                     // collected from every source (secrets.h)
  resolve::Options options;
};

// An environment variable's value, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (std::getenv).
std::optional<std::string> process_env(const std::string& name);

// Reads `[flags] TARGET [--ARG=value...]` plus .arg, EARTH(LY)_BUILD_ARGS
// and every flag's environment equivalent (flags.h): a flag given on the
// command line (even `--push=false`) beats EARTH_X, which beats EARTHLY_X.
// A relative .arg path (the default ".arg" or --arg-file-path) is under
// `dir`. Throws earth::Error (a usage error).
BuildRequest parse_build_request(const std::vector<std::string>& words,
                                 const std::string& dir = ".", const EnvLookup& env = process_env);

// Whether `earth WORDS…` is a build (`earth [build flags] +target …`)
// rather than a subcommand.
bool is_build_invocation(const std::vector<std::string>& words);

// Reads CLI build args: `.arg` at `arg_file` (KEY=value lines, `#`
// comments, no quote stripping), then EARTH_BUILD_ARGS / EARTHLY_BUILD_ARGS
// ("K=v,K2=v2"), then `--build-arg K=v` values, then `flags` (`--K=v`,
// `--K v`). Later entries win.
std::vector<std::pair<std::string, std::string>>
collect_overrides(const std::string& arg_file, const std::vector<std::string>& build_arg_values,
                  const std::vector<std::string>& flags, const EnvLookup& env = process_env);

} // namespace earth::request
