// References to Earthfiles, targets, functions and artifacts (reference
// §2.1): parsing, printing, and the word-level helpers the interpreter needs
// before flag parsing (re-joining `( … )` groups, build-arg flags).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"

namespace earth::resolve {

// The part of a reference before the `+`.
struct EarthfileRef {
  enum class Kind {
    local_internal, // "" : the same Earthfile
    local_path,     // "./js", "../lib", "/abs", "~/x" (cleaned)
    remote,         // "github.com/org/repo/sub" with an optional git tag
    alias,          // a name set up by IMPORT
  };
  Kind kind = Kind::local_internal;
  std::string path; // local_path: the cleaned path; remote: without the tag; alias: the alias
  std::string tag;  // remote only: the text after the first ':' (may be empty)

  std::string to_string() const;
  friend bool operator==(const EarthfileRef&, const EarthfileRef&) = default;
};

// `[earthfile]+name[/artifact]`. A name starting with an upper-case letter
// is a function.
struct Reference {
  EarthfileRef earthfile;
  std::string name;
  std::string artifact; // artifact refs only: absolute path in the artifact env, may have globs

  bool is_function() const { return !name.empty() && name[0] >= 'A' && name[0] <= 'Z'; }
  bool is_artifact() const { return !artifact.empty(); }
  // The target or function part only: "./js+build".
  std::string target_string() const;
  // Everything: "./js+build/dist".
  std::string to_string() const;
  friend bool operator==(const Reference&, const Reference&) = default;
};

// Parses the Earthfile part (also the argument of IMPORT).
Result<EarthfileRef> parse_earthfile_ref(std::string_view text);
// Parses a target or function reference; an artifact path is an error.
Result<Reference> parse_target_ref(std::string_view text);
// Parses an artifact reference; the `/path` part is required.
Result<Reference> parse_artifact_ref(std::string_view text);

// Whether `text` contains a `+` not escaped by `\` (so a COPY source is an
// artifact, not a host path).
bool has_unescaped_plus(std::string_view text);
// Replaces every `\+` with `+`.
std::string unescape_plus(std::string_view text);
// The default IMPORT alias: the last path element ("github.com/foo/bar:v1"
// gives "bar"); fails when the path ends in "..".
Result<std::string> default_import_alias(const EarthfileRef& ref);

bool is_valid_target_name(std::string_view name);
bool is_valid_function_name(std::string_view name);
bool is_valid_arg_name(std::string_view name);

// A build arg on a reference: `--K=v`, `--K v`, or a bare `--K` (no value:
// pass the caller's current value). Values are unexpanded words.
struct BuildArgFlag {
  std::string name;
  std::optional<std::string> value;
};

// Parses the words after a reference. Accepts `--K=v`, `--K v`, `--K`,
// `-K=v`; fails on anything else. K need not be an identifier (Earthly
// passes `--wasi-src-dir=x` on; no ARG can use it).
Result<std::vector<BuildArgFlag>> parse_build_arg_flags(const std::vector<std::string>& words);

// Re-joins words split by the lexer inside an unbalanced `( … )`, `"` or `'`
// group, as Earthly does before flag parsing: ["(+t/a", "--x=1)", "./"]
// gives ["(+t/a --x=1)", "./"].
std::vector<std::string> join_grouped_words(const std::vector<std::string>& words);

// Splits `text` into words at unquoted, unparenthesised whitespace; quotes
// are kept.
std::vector<std::string> split_words(std::string_view text);

// `(+t/path --K=v --K2 v2)` (also quoted as `"( … )"`): the reference word
// and its build-arg words, still unexpanded. nullopt if `word` is no group.
struct GroupedRef {
  std::string ref;
  std::vector<std::string> args;
};
std::optional<GroupedRef> split_grouped_ref(std::string_view word);

} // namespace earth::resolve
