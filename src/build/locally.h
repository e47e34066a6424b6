// LOCALLY (reference §1.2): the commands after it run on the host, in the
// Earthfile's directory, with the host's environment, and are never cached.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "earth/base/error.h"
#include "earth/exec/runtime.h"

namespace earth::build {

class TargetRun;

// Runs `argv` on the host in `cwd` with `env` (stdin /dev/null, its own
// process group), its output bytes to the sinks as they come. When
// `cancelled` turns true or interrupt_all_runs() is called (the build failed,
// Ctrl-C), the group gets SIGTERM, SIGKILL 3s later, and the result says
// `interrupted`; what the command leaves in its group is killed when it
// ends; earth killed outright sends it SIGTERM (PR_SET_PDEATHSIG). Fails
// only when it cannot start.
Result<exec::RunResult> run_on_host(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env, const std::string& cwd,
                                    const exec::ByteSink& out, const exec::ByteSink& err,
                                    const std::function<bool()>& cancelled);

// The environment of a LOCALLY RUN: the host's, then `extra` ("NAME=value")
// replacing variables of the same name.
std::vector<std::string> host_env(const std::vector<std::string>& extra);

} // namespace earth::build
