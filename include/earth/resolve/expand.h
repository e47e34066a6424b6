// Shell-word expansion as Earthly does it (reference §2.5): a lexer derived
// from BuildKit's Dockerfile shell lexer, with `\` as the escape character.
// Shared by the resolver and the engine. Nothing here runs a process: a
// `$( … )` shell-out is kept verbatim and marks the value dynamic.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "earth/base/error.h"

namespace earth::resolve {

inline constexpr size_t kMaxExpansionDepth = 256;

// A variable's value. `dynamic`: the text still holds `$( … )` shell-outs
// that only the build environment can evaluate.
struct Value {
  std::string text;
  bool dynamic = false;
  friend bool operator==(const Value&, const Value&) = default;
};

// Looks a variable up; nullptr when it is not set (expands to nothing).
using Lookup = std::function<const Value*(std::string_view name)>;
// Runs the command of a `$( … )` (its text between the parens, unexpanded:
// the shell expands it) and gives its standard output. The engine passes
// one; without it a shell-out is kept verbatim and the value is dynamic.
using ShellOut = std::function<Result<std::string>(std::string_view command)>;

// Expands one word: quotes are removed (single quotes literal, double quotes
// expand), `\x` gives `x` outside quotes (but `\+` stays `\+` so that a
// reference still parses), and `$NAME`, `${NAME}`, `${NAME:-word}`,
// `${NAME:+word}`, `${NAME?msg}`, `${NAME:?msg}`, `${NAME#pat}`,
// `${NAME##pat}`, `${NAME%pat}`, `${NAME%%pat}` are replaced. Fails on
// unterminated quotes or braces, on `?` forms whose variable is unset, and on
// `${…}` nested more than kMaxExpansionDepth deep (docs/language.md).
// With `shell_out`, each `$( … )` is replaced by its output less trailing
// newlines (as a shell does), and the value is never dynamic.
Result<Value> expand_word(std::string_view word, const Lookup& lookup,
                          const ShellOut& shell_out = {});

// Whether `word` contains a `$( … )` outside single quotes.
bool has_shell_out(std::string_view word);

} // namespace earth::resolve
