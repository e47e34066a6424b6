// Running host programs (git for builtin ARGs, tools in tests). The sandbox
// does not use this: it has its own clone()-based launcher in exec.
#pragma once

#include <string>
#include <vector>

#include "earth/base/error.h"

namespace earth {

struct ProcessResult {
  int exit_status = -1; // exit code, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with `argv`, in `cwd` when not empty,
// capturing stdout and stderr. Fails only if the program cannot start.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const std::string& cwd = {},
                                  const std::string& stdin_data = {});

} // namespace earth
