// The build flags, one table: how each is parsed, its environment
// equivalents, its help line. `earth --help`, shell completion and "did you
// mean" read the same table as the parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace earth::request {

struct FlagSpec {
  enum class Kind { boolean, valued };
  std::string_view name;       // "--push"
  std::string_view short_name; // "-P", or empty
  Kind kind = Kind::boolean;
  // The environment equivalent without its prefix: "PUSH" is read as
  // EARTH_PUSH, then EARTHLY_PUSH. Empty: none.
  std::string_view env;
  std::string_view help; // one line; empty: hidden from --help
  bool ignored = false;  // accepted for compatibility with Earthly, no effect
  // Also valid before a subcommand (`earth --config F image ls`); the CLI
  // takes these out of the words before it dispatches.
  bool global = false;
};

const std::vector<FlagSpec>& build_flags();
// The flag spelled `word` ("--push", "-P"; without "=value"), or null.
const FlagSpec* find_build_flag(std::string_view word);

// Reads a boolean as Earthly does (Go's strconv.ParseBool): 1 t T TRUE true
// True, 0 f F FALSE false False; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view text);

// The closest of `candidates` to `word` within an edit distance of about a
// third of its length (at least 1, at most 3); empty if none.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

} // namespace earth::request
