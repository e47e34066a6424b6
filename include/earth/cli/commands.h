// The subcommand table. Each subcommand lives in its own src/cli/cmd_*.cc
// and is listed once in commands.cc; main() dispatches on the first word.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace earth::cli {

// The words after the subcommand name, with helpers for flags. Flags may be
// written `--name=value` or `--name value`; `--` ends flags.
class Args {
public:
  explicit Args(std::vector<std::string> words) : words_(std::move(words)) {}
  // Removes and returns whether boolean flag `name` (or its `short_name`) is present.
  bool flag(std::string_view name, std::string_view short_name = {});
  // Removes and returns the value of `--name value` / `--name=value`; empty
  // if absent. Throws earth::Error when the value is missing.
  std::string option(std::string_view name, std::string_view short_name = {});
  // Every value of a repeatable option.
  std::vector<std::string> options(std::string_view name, std::string_view short_name = {});
  // What is left; throws earth::Error on an unknown `-x` flag before `--`.
  std::vector<std::string> positional(std::string_view command);
  bool empty() const { return words_.empty(); }
  // Takes every remaining word, flags included (for commands that parse
  // their own build-arg flags).
  std::vector<std::string> rest() { return std::exchange(words_, {}); }
  // The command's flags, for "did you mean" on an unknown one.
  void set_known_flags(std::vector<std::string> flags) { known_ = std::move(flags); }

private:
  std::vector<std::string> words_;
  std::vector<std::string> known_;
};

// The flags a usage line names: "[-a|--args] [-l|--long]" -> -a --args -l --long.
std::vector<std::string> flags_in_usage(std::string_view usage);

struct Subcommand {
  std::string_view path;    // "ls", "debug ast", "image import"
  std::string_view usage;   // one line: arguments and flags
  std::string_view summary; // one line: what it does
  int (*run)(Args& args);
  std::string_view examples = {}; // lines of `earth CMD --help`'s examples
  // Its trailing words are a program's (earth debug run IMAGE CMD...): main
  // leaves --help and -h to the command instead of printing the usage.
  bool own_help = false;
  // Reads the config file first (image store, cache dir, registries).
  bool needs_config = false;
};

const std::vector<Subcommand>& subcommands();

// From here on the command does its work (builds, pulls, runs): a user
// error is now a failure of that work, exit 1, no longer a usage error,
// exit 2 (ExitCode::user_error, docs/cli.md#exit-status).
void start_work();
bool work_started();

// For `earth GROUP …` when no `GROUP SUB` subcommand matched: throws
// earth::Error naming the unknown flag or subcommand and the known ones.
[[noreturn]] void fail_in_group(std::string_view group, Args& args);

// The builtin subcommands, one per cmd_*.cc file.
int cmd_ls(Args& args);
int cmd_doc(Args& args);
int cmd_debug_ast(Args& args);
int cmd_debug_run(Args& args);
int cmd_image(Args& args); // `earth image` without a known subcommand
int cmd_image_import(Args& args);
int cmd_image_ls(Args& args);
int cmd_image_rm(Args& args);
int cmd_image_export(Args& args);
int cmd_image_pull(Args& args);
int cmd_image_push(Args& args);
int cmd_prune(Args& args);
// After a build: prunes the cache down when it is over its size limit
// (EARTH_CACHE_SIZE, the config file) and says what it removed (cmd_prune.cc).
// `ran_steps`: a step ran, so the cache mounts it used are measured again.
void enforce_cache_limit(const std::string& cache_dir, bool ran_steps);
// The same after a failed build: a problem with the limit is only a warning.
void try_enforce_cache_limit(const std::string& cache_dir);
int cmd_config(Args& args);   // earth config KEY VALUE (cmd_config.cc)
int cmd_complete(Args& args); // earth __complete WORDS... (completion.cc)

// The build invocation `earth [flags] +TARGET [--ARG=value...]` (cmd_build.cc),
// also used by `earth graph`.
int cmd_build(Args& args);
int cmd_debug_keys(Args& args); // `earth debug keys`: cmd_build printing every key's fields
int cmd_graph(Args& args);

} // namespace earth::cli
