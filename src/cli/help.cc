#include "help.h"

#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/strings.h"
#include "earth/request/flags.h"
#include "earth/syntax/parser.h"

namespace earth::cli {

namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kExamples =
    R"(  earth +build                          build +build of ./Earthfile and what it needs
  earth +test --VERSION=1.2             with a build arg (after the target)
  earth -j 4 --no-cache ./api+image     another directory's Earthfile, 4 at once, no cache
  earth --artifact +build/app ./bin/    only that artifact, into ./bin/
  earth --ci +all                       no outputs, strict (for CI)
  earth ls -a                           the targets of ./Earthfile and their ARGs
  earth config global.jobs 4            set a key of ~/.earth/config.yml
)";

void print_flag(const request::FlagSpec& f) {
  std::string name = f.short_name.empty() ? "    " + std::string(f.name)
                                          : std::string(f.short_name) + ", " + std::string(f.name);
  if (f.kind == request::FlagSpec::Kind::valued) name += " V";
  std::string env = f.env.empty() ? "" : "  [$EARTH_" + std::string(f.env) + "]";
  std::printf("  %-26s %s%s\n", name.c_str(), std::string(f.help).c_str(), env.c_str());
}

} // namespace

void print_version() {
  std::printf("earth version %s\n", kVersion);
}

void print_help() {
  std::printf("earth %s: a daemonless, Earthfile-compatible build tool\n\n", kVersion);
  std::printf("usage:\n"
              "  earth [flags] +TARGET [--ARG=value...]        build a target\n"
              "  earth [flags] --artifact +TARGET/PATH [DEST]  build, write only an artifact\n"
              "  earth [flags] --image +TARGET                 build, save only its images\n"
              "  earth COMMAND [flags] [args]                  the commands below\n"
              "\ncommands (earth COMMAND --help for more):\n");
  for (const auto& c : subcommands())
    if (!c.path.starts_with("__"))
      std::printf("  %-14s %s\n", std::string(c.path).c_str(), std::string(c.summary).c_str());
  std::printf("\nbuild flags (before the target; [$EARTH_X] or $EARTHLY_X is the default):\n");
  for (const auto& f : request::build_flags())
    if (!f.help.empty()) print_flag(f);
  std::printf("\nother flags:\n"
              "  -h, --help                 this help\n"
              "      --version              earth's version\n"
              "      --completion SHELL     the completion script for bash or zsh\n"
              "\nexamples:\n%s",
              kExamples);
  std::printf("\nexit status: 0 success, 1 build failed, 2 usage or Earthfile error, "
              "130 interrupted.\nSettings: flag, then $EARTH_X, $EARTHLY_X, ./.env, then "
              "~/.earth/config.yml (docs/cli.md).\n");
}

void print_command_help(const Subcommand& cmd) {
  std::printf("usage: earth %s %s\n\n%s\n", std::string(cmd.path).c_str(),
              std::string(cmd.usage).c_str(), std::string(cmd.summary).c_str());
  if (!cmd.examples.empty()) std::printf("\nexamples:\n%s", std::string(cmd.examples).c_str());
  std::printf("\nexit status: 0 success, 1 the command failed, 2 usage error.\n");
}

int help_command(const std::vector<std::string>& words) {
  if (words.size() < 2 || words[0] != "help") {
    print_help();
    return 0;
  }
  std::string path;
  for (size_t n = 1; n < words.size(); ++n) path += (n > 1 ? " " : "") + words[n];
  for (const auto& c : subcommands())
    if (c.path == path) {
      print_command_help(c);
      return 0;
    }
  throw Error(unknown_command_message(path), ExitCode::usage_error);
}

std::vector<std::string> local_targets(const std::string& dir) {
  std::vector<std::string> out;
  std::string path = syntax::earthfile_in(dir);
  if (path.empty()) return out;
  auto text = syntax::read_earthfile(path);
  if (!text) return out;
  syntax::SourceFile source(path, *text);
  auto parsed = syntax::parse_syntax_only(source);
  out.push_back("+base");
  for (const auto& t : parsed.earthfile.targets) out.push_back("+" + t.name);
  return out;
}

std::string unknown_command_message(const std::string& word) {
  std::vector<std::string> candidates;
  if (word.starts_with("-")) {
    for (const auto& f : request::build_flags()) candidates.emplace_back(f.name);
    for (const char* g : {"--help", "--version", "--completion"}) candidates.emplace_back(g);
  } else {
    for (const auto& c : subcommands())
      if (!c.path.starts_with("__")) candidates.emplace_back(c.path);
    for (auto& t : local_targets(".")) candidates.push_back(std::move(t));
  }
  std::string best = request::closest(word, candidates);
  // `earth biuld` for `earth +build`.
  if (!word.starts_with("-") && !word.starts_with("+") && best.empty())
    best = request::closest("+" + word, candidates);
  std::string hint = best.empty() ? "" : "; did you mean " + best + "?";
  if (word.starts_with("-")) return "earth: unknown flag " + word + hint + " (see earth --help)";
  return "earth: unknown command or target '" + word + "'" + hint +
         " (targets start with '+', e.g. earth +build; see earth --help)";
}

} // namespace earth::cli
