// The leading flags of a command (`--name value`, `--name=value`, booleans
// with an optional `=true|false`), parsed the way Earthly's go-flags setup
// does: the first non-flag word or `--` ends them. One parser for the
// resolver and the engine.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/error.h"

namespace earth::resolve {

struct CommandFlags {
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> bools;
  size_t next = 0; // first positional word

  bool has(std::string_view n) const {
    for (const auto& b : bools)
      if (b == n) return true;
    return false;
  }
  std::vector<std::string> all(std::string_view n) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values)
      if (k == n) out.push_back(v);
    return out;
  }
  // The last value given for `n`, or `fallback`.
  std::string last(std::string_view n, std::string fallback = {}) const {
    for (auto it = values.rbegin(); it != values.rend(); ++it)
      if (it->first == n) return it->second;
    return fallback;
  }
};

// Fails with "unknown flag --x for RUN" or "RUN --mount needs a value".
// `expand_bool`, when given, expands a boolean's `=value` first
// (`--no-cache=$NC`); valued flags are left for the caller to expand.
using ExpandFn = std::function<std::string(const std::string&)>;
Result<CommandFlags> parse_command_flags(std::string_view command,
                                         const std::vector<std::string>& words,
                                         std::initializer_list<std::string_view> valued,
                                         std::initializer_list<std::string_view> boolean,
                                         const ExpandFn& expand_bool = {});

} // namespace earth::resolve
