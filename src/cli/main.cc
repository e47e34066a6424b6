// earth: the command line. The only place exceptions are caught (STYLE.md
// rule 11): each is mapped to an exit code and printed once.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "earth/base/error.h"
#include "earth/cli/commands.h"
#include "earth/request/build_request.h"
#include "earth/request/flags.h"
#include "earth/syntax/diagnostic.h"
#include "help.h"
#include "output_choice.h"
#include "settings.h"

namespace {

// Finds the longest subcommand path matching the leading words.
const earth::cli::Subcommand* find_subcommand(const std::vector<std::string>& words,
                                              size_t& consumed) {
  const earth::cli::Subcommand* best = nullptr;
  for (const auto& c : earth::cli::subcommands()) {
    std::string path;
    for (size_t n = 0; n < words.size(); ++n) {
      path += (n ? " " : "") + words[n];
      if (path == c.path && (!best || n + 1 > consumed)) {
        best = &c;
        consumed = n + 1;
      }
    }
  }
  return best;
}

// How many leading words are build flags and their values (`--secret x=1`,
// `-P`, `--no-cache=true`).
size_t leading_build_flags(const std::vector<std::string>& words) {
  size_t i = 0;
  while (i < words.size() && words[i].starts_with("-")) {
    const std::string& w = words[i];
    const auto* f = earth::request::find_build_flag(w.substr(0, w.find('=')));
    if (!f) break;
    i += f->kind == earth::request::FlagSpec::Kind::valued && w.find('=') == std::string::npos ? 2
                                                                                               : 1;
  }
  return std::min(i, words.size());
}

// `earth FLAGS... COMMAND ARGS...` (Earthly takes its flags before a
// command too): COMMAND with the flags moved after its name, where the
// command reads them (`debug keys`) or names one it does not take.
const earth::cli::Subcommand* find_subcommand_after_flags(std::vector<std::string>& words,
                                                          size_t& consumed) {
  size_t flags = leading_build_flags(words);
  if (flags == 0 || flags == words.size()) return nullptr;
  std::vector<std::string> rest(words.begin() + static_cast<long>(flags), words.end());
  const auto* cmd = find_subcommand(rest, consumed);
  if (!cmd) return nullptr;
  rest.insert(rest.begin() + static_cast<long>(consumed), words.begin(),
              words.begin() + static_cast<long>(flags));
  words = std::move(rest);
  return cmd;
}

int run_subcommand(const earth::cli::Subcommand& cmd, std::vector<std::string> rest,
                   const earth::cli::Globals& globals) {
  for (const auto& w : rest) {
    if (w == "--" || cmd.own_help) break; // what follows is not earth's
    if (w == "--help" || w == "-h") {
      earth::cli::print_command_help(cmd);
      return 0;
    }
  }
  if (cmd.needs_config) earth::cli::load_settings(globals.config);
  earth::cli::Args args(std::move(rest));
  args.set_known_flags(earth::cli::flags_in_usage(cmd.usage));
  return cmd.run(args);
}

int run(std::vector<std::string> words) {
  using namespace earth::cli;
  Globals globals = take_globals(words);
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help")
    return help_command(words);
  if (words[0] == "--version") {
    print_version();
    return 0;
  }
  if (words[0] == "--completion") return print_completion(words);
  load_dotenv(globals.env_file);
  size_t consumed = 0;
  const auto* cmd = find_subcommand(words, consumed);
  if (!cmd) cmd = find_subcommand_after_flags(words, consumed);
  if (cmd)
    return run_subcommand(*cmd, {words.begin() + static_cast<long>(consumed), words.end()},
                          globals);
  if (earth::request::is_build_invocation(words)) {
    for (const auto& w : words)
      if (w == "--help" || w == "-h") return print_help(), 0;
    load_settings(globals.config);
    Args args(std::move(words));
    return cmd_build(args);
  }
  throw earth::Error(unknown_command_message(words[0]), earth::ExitCode::usage_error);
}

// The exit status of a thrown earth::Error (docs/cli.md#exit-status).
int exit_status(earth::ExitCode code) {
  switch (code) {
  case earth::ExitCode::user_error:
    return static_cast<int>(earth::cli::work_started() ? earth::ExitCode::build_failed
                                                       : earth::ExitCode::usage_error);
  case earth::ExitCode::internal_error:
    return static_cast<int>(earth::ExitCode::build_failed);
  default:
    return static_cast<int>(code);
  }
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const earth::syntax::DiagnosticError& e) {
    std::fprintf(stderr, "%s\n", e.rendered(earth::cli::colour_for(2)).c_str());
    return exit_status(e.code());
  } catch (const earth::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return exit_status(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "earth: internal error: %s\n", e.what());
    return exit_status(earth::ExitCode::internal_error);
  }
}
