#include "earth/syntax/ast.h"

#include <utility>

namespace earth::syntax {

const Target* Earthfile::find_target(std::string_view name) const {
  for (const auto& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

const Function* Earthfile::find_function(std::string_view name) const {
  for (const auto& f : functions)
    if (f.name == name) return &f;
  return nullptr;
}

bool sets_config(CommandKind kind) {
  switch (kind) {
  case CommandKind::env:
  case CommandKind::workdir:
  case CommandKind::user:
  case CommandKind::entrypoint:
  case CommandKind::cmd:
  case CommandKind::expose:
  case CommandKind::label:
  case CommandKind::volume:
  case CommandKind::healthcheck:
  case CommandKind::host:
  case CommandKind::cache:
    return true;
  default:
    return false;
  }
}

CommandKind command_kind(std::string_view keyword) {
  static constexpr std::pair<std::string_view, CommandKind> kinds[] = {
      {"FROM", CommandKind::from},
      {"FROM DOCKERFILE", CommandKind::from_dockerfile},
      {"LOCALLY", CommandKind::locally},
      {"RUN", CommandKind::run},
      {"COPY", CommandKind::copy},
      {"SAVE ARTIFACT", CommandKind::save_artifact},
      {"SAVE IMAGE", CommandKind::save_image},
      {"BUILD", CommandKind::build},
      {"WORKDIR", CommandKind::workdir},
      {"ENV", CommandKind::env},
      {"ARG", CommandKind::arg},
      {"LET", CommandKind::let},
      {"SET", CommandKind::set},
      {"USER", CommandKind::user},
      {"ENTRYPOINT", CommandKind::entrypoint},
      {"CMD", CommandKind::cmd},
      {"EXPOSE", CommandKind::expose},
      {"LABEL", CommandKind::label},
      {"VOLUME", CommandKind::volume},
      {"HEALTHCHECK", CommandKind::healthcheck},
      {"HOST", CommandKind::host},
      {"CACHE", CommandKind::cache},
      {"DO", CommandKind::do_function},
      {"IMPORT", CommandKind::import},
      {"FUNCTION", CommandKind::function},
      {"COMMAND", CommandKind::command},
      {"VERSION", CommandKind::version},
      {"PROJECT", CommandKind::project},
      {"GIT CLONE", CommandKind::git_clone},
      {"ADD", CommandKind::add},
      {"STOPSIGNAL", CommandKind::stopsignal},
      {"ONBUILD", CommandKind::onbuild},
      {"SHELL", CommandKind::shell},
      {"DOCKER", CommandKind::docker},
  };
  for (const auto& [name, kind] : kinds)
    if (name == keyword) return kind;
  return CommandKind::unknown;
}

void for_each_command(const Block& block, const std::function<void(const Command&)>& f) {
  for (const auto& s : block) {
    std::visit(
        [&](const auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, Command>) {
            f(n);
          } else if constexpr (std::is_same_v<T, IfStmt>) {
            for_each_command(n.if_branch.body, f);
            for (const auto& b : n.else_ifs) for_each_command(b.body, f);
            if (n.else_body) for_each_command(*n.else_body, f);
          } else if constexpr (std::is_same_v<T, TryStmt>) {
            for_each_command(n.try_body, f);
            if (n.catch_body) for_each_command(*n.catch_body, f);
            if (n.finally_body) for_each_command(*n.finally_body, f);
          } else if constexpr (std::is_same_v<T, WithStmt>) {
            f(n.command);
            for_each_command(n.body, f);
          } else {
            for_each_command(n.body, f);
          }
        },
        s.node);
  }
}

} // namespace earth::syntax
