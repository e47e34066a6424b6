// Error messages attached to grammar rules from outside the grammar
// (STYLE.md rule 3): what a user reads when `must<>` or `raise<>` fails.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "grammar/earthfile.hpp"
#include "parse_state.h"

namespace earth::syntax::detail {

// The word at the error position, for messages ("unknown command 'FOO'").
std::string_view word_at(std::string_view rest);
// "did you mean RUN?" for a misspelled or lower-case command keyword.
std::string command_hint(std::string_view word);
// The message for a block that reached `found` without its END.
SyntaxError missing_end(const ParseState& st, size_t offset, std::string_view rest);
SyntaxError unterminated_quote(const ParseState& st, size_t offset, char quote);
SyntaxError unexpected_text(size_t offset, std::string_view rest, std::string_view context);

template <typename Rule> SyntaxError::Recovery recovery_for() {
  namespace g = earth::grammar;
  using R = SyntaxError::Recovery;
  if constexpr (std::is_same_v<Rule, g::end_line>) return R::at_failure;
  if constexpr (std::is_same_v<Rule, g::dq_close> || std::is_same_v<Rule, g::sq_close> ||
                std::is_same_v<Rule, g::header_end> || std::is_same_v<Rule, g::spaced_header> ||
                std::is_same_v<Rule, g::bad_header> ||
                std::is_same_v<Rule, g::unindented_command> ||
                std::is_same_v<Rule, g::top_level_error>)
    return R::next_header;
  return R::next_line;
}

template <typename Rule>
SyntaxError error_for(const ParseState& st, size_t offset, std::string_view rest) {
  namespace g = earth::grammar;
  std::string_view word = word_at(rest);
  auto at = [&](std::string message) {
    return SyntaxError{offset, word.empty() ? 1 : word.size(), std::move(message), {}};
  };
  if constexpr (std::is_same_v<Rule, g::dq_close>) {
    return unterminated_quote(st, offset, '"');
  } else if constexpr (std::is_same_v<Rule, g::sq_close>) {
    return unterminated_quote(st, offset, '\'');
  } else if constexpr (std::is_same_v<Rule, g::end_line>) {
    return missing_end(st, offset, rest);
  } else if constexpr (std::is_same_v<Rule, g::end_tail>) {
    return unexpected_text(offset, rest, "after END");
  } else if constexpr (std::is_same_v<Rule, g::header_end>) {
    return unexpected_text(offset, rest,
                           "after the target header (the recipe goes on the next "
                           "lines, indented)");
  } else if constexpr (std::is_same_v<Rule, g::line_end>) {
    return unexpected_text(offset, rest, "at the end of the command");
  } else if constexpr (std::is_same_v<Rule, g::stray_closer>) {
    std::string w(word);
    if (w == "END") return at("END without IF/FOR/WAIT/TRY/WITH");
    if (w == "CATCH" || w == "FINALLY") return at(w + " without TRY");
    return at(std::string(rest.starts_with("ELSE IF") ? "ELSE IF" : "ELSE") + " without IF");
  } else if constexpr (std::is_same_v<Rule, g::misplaced_version>) {
    return at("VERSION must be the first command of the Earthfile");
  } else if constexpr (std::is_same_v<Rule, g::misplaced_project>) {
    return at("PROJECT is only allowed in the base recipe");
  } else if constexpr (std::is_same_v<Rule, g::unknown_command>) {
    return at("unknown command '" + std::string(word) + "'" + command_hint(word));
  } else if constexpr (std::is_same_v<Rule, g::expression>) {
    return at("IF needs a condition, a command whose exit status decides (IF [ -f x ])");
  } else if constexpr (std::is_same_v<Rule, g::for_args>) {
    return at("FOR needs a variable and a list: FOR x IN a b c");
  } else if constexpr (std::is_same_v<Rule, g::with_docker>) {
    return at("expected DOCKER after WITH (WITH DOCKER … END)");
  } else if constexpr (std::is_same_v<Rule, g::spaced_header>) {
    return at("a target header has no blank before ':' (write '" +
              std::string(rest.substr(0, rest.find_first_of(" \t"))) + ":')");
  } else if constexpr (std::is_same_v<Rule, g::bad_header>) {
    std::string name(rest.substr(0, rest.find(':')));
    return SyntaxError{offset,
                       name.size(),
                       "invalid target name '" + name +
                           "': target names must start with a lower-case letter and contain "
                           "only letters, digits, '.' and '-'; function names are upper case "
                           "(A-Z, 0-9, '.', '_')",
                       {}};
  } else if constexpr (std::is_same_v<Rule, g::unindented_command>) {
    return at("'" + std::string(word) +
              "' is not indented: commands of a target's recipe must be indented");
  } else if constexpr (std::is_same_v<Rule, g::indented_base_line>) {
    return at("unexpected indentation: the base recipe (before the first target) is not "
              "indented; is a target header missing above this line?");
  } else {
    if (word.empty()) return at("unexpected end of line");
    return at("unexpected '" + std::string(word) + "'");
  }
}

} // namespace earth::syntax::detail
