// earth --help, earth CMD --help, --version, --completion and the "did you
// mean" of an unknown command or target.
#pragma once

#include <string>
#include <vector>

#include "earth/cli/commands.h"

namespace earth::cli {

void print_help();
void print_version();
void print_command_help(const Subcommand& cmd);
// `earth help [CMD...]`, `earth --help`: exit status 0, or a usage error
// for an unknown CMD.
int help_command(const std::vector<std::string>& words);
// `earth --completion bash|zsh`: prints the script (completion.cc).
int print_completion(const std::vector<std::string>& words);

// "unknown command or target 'biuld'; did you mean +build?" from the
// subcommands, the global flags and the targets of ./Earthfile.
std::string unknown_command_message(const std::string& word);

// The names of the targets of the Earthfile in `dir`, "+name"; empty when
// there is none or it does not parse.
std::vector<std::string> local_targets(const std::string& dir);

} // namespace earth::cli
