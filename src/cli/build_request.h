// The parsed build invocation shared by cmd_build.cc and cmd_graph.cc.
#pragma once

#include <string>
#include <vector>

#include "earth/resolve/resolve.h"

namespace earth::cli {

struct BuildRequest {
  std::string target;
  std::vector<std::string> arg_flags; // the words after the target
  std::string arg_file = ".arg";
  bool dry_run = false;
  bool no_cache = false, allow_privileged = false, no_output = false, strict = false;
  bool output = false; // --output: outputs even under --ci
  bool verbose = false;
  bool profile = false; // --profile: print the time of each pass
  unsigned jobs = 0;
  std::string artifact, artifact_dest; // --artifact +t/path [dest]
  bool image_only = false;             // --image +t
  resolve::Options options;
};

// Reads `[flags] TARGET [--ARG=value...]` plus .arg, EARTH(LY)_BUILD_ARGS,
// EARTH(LY)_PUSH and EARTH(LY)_CI.
BuildRequest parse_build_request(const std::vector<std::string>& words);

} // namespace earth::cli
