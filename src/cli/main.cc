// earth: the command line. The only place exceptions are caught (STYLE.md
// rule 11): each is mapped to an exit code and printed once.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "earth/base/error.h"
#include "earth/cli/commands.h"
#include "earth/request/build_request.h"
#include "earth/syntax/diagnostic.h"
#include "output_choice.h"

namespace {

constexpr const char* kVersion = "0.1.0";

void print_help() {
  std::printf("earth %s: a daemonless, Earthfile-compatible build tool\n\n", kVersion);
  std::printf("usage: earth [flags] +TARGET [--ARG=value...]\n");
  std::printf("       earth COMMAND [flags] [args]\n\ncommands:\n");
  for (const auto& c : earth::cli::subcommands())
    std::printf("  %-14s %-36s %s\n", std::string(c.path).c_str(), std::string(c.usage).c_str(),
                std::string(c.summary).c_str());
}

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

int run(std::vector<std::string> words) {
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print_help();
    return 0;
  }
  if (words[0] == "--version") {
    std::printf("earth version %s\n", kVersion);
    return 0;
  }
  size_t consumed = 0;
  if (const auto* cmd = find_subcommand(words, consumed)) {
    std::vector<std::string> rest(words.begin() + static_cast<long>(consumed), words.end());
    for (const auto& w : rest) {
      if (w == "--" || cmd->own_help) break; // what follows is not earth's
      if (w == "--help" || w == "-h") {
        std::printf("usage: earth %s %s\n%s\n", std::string(cmd->path).c_str(),
                    std::string(cmd->usage).c_str(), std::string(cmd->summary).c_str());
        return 0;
      }
    }
    earth::cli::Args args(std::move(rest));
    return cmd->run(args);
  }
  if (earth::request::is_build_invocation(words)) {
    earth::cli::Args args(std::move(words));
    return earth::cli::cmd_build(args);
  }
  throw earth::Error("unknown command or target '" + words[0] +
                     "' (targets start with '+', e.g. earth +build; see earth --help)");
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const earth::syntax::DiagnosticError& e) {
    std::fprintf(stderr, "%s\n", e.rendered(earth::cli::colour_for(2)).c_str());
    return static_cast<int>(e.code());
  } catch (const earth::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "earth: internal error: %s\n", e.what());
    return static_cast<int>(earth::ExitCode::internal_error);
  }
}
