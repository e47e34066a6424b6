// The Earthfile AST: plain data with a span on every node (STYLE.md rule 4).
// Words are kept exactly as written (quotes kept, line continuations
// removed); resolution and expansion happen later, in `resolve`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "earth/syntax/source.h"

namespace earth::syntax {

struct Statement;
using Block = std::vector<Statement>;

// Every command keyword, set once by the parser: later stages switch on the
// kind instead of comparing keyword strings.
enum class CommandKind : uint8_t {
  unknown,
  from,
  from_dockerfile,
  locally,
  run,
  copy,
  save_artifact,
  save_image,
  build,
  workdir,
  env,
  arg,
  let,
  set,
  user,
  entrypoint,
  cmd,
  expose,
  label,
  volume,
  healthcheck,
  host,
  cache,
  do_function,
  import,
  function,
  command,
  version,
  project,
  git_clone,
  add,
  stopsignal,
  onbuild,
  shell,
  docker, // `WITH DOCKER`'s head
};
// The kind of a keyword written with single spaces ("SAVE ARTIFACT").
CommandKind command_kind(std::string_view keyword);
// ENV, WORKDIR, USER, ENTRYPOINT, CMD, EXPOSE, LABEL, VOLUME, HEALTHCHECK,
// HOST, CACHE: commands that only change the target's image config or mounts.
bool sets_config(CommandKind kind);

// One command: `name` is the keyword as written with single spaces
// ("SAVE ARTIFACT"); `args` are its words; `exec_mode` when the argument text
// was a JSON string array (then `args` are the decoded strings).
struct Command {
  std::string name;
  CommandKind kind = CommandKind::unknown;
  std::vector<std::string> args;
  std::vector<Span> arg_spans; // parallel to args
  bool exec_mode = false;
  std::string docs;
  Span span;
};

struct Branch {
  std::vector<std::string> expression;
  bool exec_mode = false;
  Block body;
  Span span;
};

struct IfStmt {
  Branch if_branch;
  std::vector<Branch> else_ifs;
  std::optional<Block> else_body;
};

struct ForStmt {
  std::vector<std::string> args; // ["x", "IN", "a", "b"], flags first
  Block body;
};

struct WaitStmt {
  std::vector<std::string> args;
  Block body;
};

struct WithStmt {
  Command command; // name "DOCKER"
  Block body;
};

struct TryStmt {
  Block try_body;
  std::optional<Block> catch_body;
  std::optional<Block> finally_body;
};

struct Statement {
  std::variant<Command, WithStmt, IfStmt, TryStmt, ForStmt, WaitStmt> node;
  std::string docs; // doc comment above a block statement
  Span span;
};

struct Target {
  std::string name;
  std::string docs;
  Block recipe;
  Span span; // the header
};

// A FUNCTION (0.8) or COMMAND (0.6/0.7) recipe; the keyword stays the first
// statement of `recipe`, as in Earthly's AST.
struct Function {
  std::string name;
  std::string docs;
  Block recipe;
  Span span;
};

struct Version {
  std::vector<std::string> args; // flags then the version number
  std::vector<Span> arg_spans;   // parallel to args
  Span span;
};

struct Earthfile {
  std::string path;
  std::optional<Version> version;
  Block base_recipe;
  std::vector<Target> targets;
  std::vector<Function> functions;

  const Target* find_target(std::string_view name) const;
  const Function* find_function(std::string_view name) const;
};

// Calls `f` on every command of `block` in source order, descending into
// IF/FOR/WAIT/TRY/WITH bodies (the DOCKER command of a WITH included).
void for_each_command(const Block& block, const std::function<void(const Command&)>& f);

} // namespace earth::syntax
