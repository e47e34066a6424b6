// RUN's flags, one table for the engine (cmd_run) and whole-target reuse
// (target_cache.cc), so both read every spelling the same way
// (`--mount type=secret,…`, `--mount=type=secret,…`, `--no-cache=true`).
#pragma once

#include <string>
#include <vector>

#include "earth/resolve/command_flags.h"

namespace earth::build {

// The leading flags of a RUN's words; `expand_bool` expands a boolean's
// `=value` (`--no-cache=$NC`). Fails for an unknown flag or a missing value.
Result<resolve::CommandFlags> parse_run_flags(const std::vector<std::string>& words,
                                              const resolve::ExpandFn& expand_bool);

// The `type=` of a `--mount` spec as written (unexpanded), or empty when it
// has none or when expanding could change it: a `$` in the type or in a key
// (`$M`, `type=$T`), or a quote or escape left in them by a spec with
// variables. A spec without variables is read as the shell lexer expands it
// (`"type=cache,target=/c"` is a cache mount); variables in other values
// (`target=$D`) do not change the type.
std::string literal_mount_type(const std::string& spec);

} // namespace earth::build
