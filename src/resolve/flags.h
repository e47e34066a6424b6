// Leading flags of a command (`--name value`, `--name=value`, booleans),
// shared by every statement the resolver reads.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resolver.h"

namespace earth::resolve {

// Flag parsing for one command: `--name value`, `--name=value`, bool flags;
// stops at the first non-flag word or after `--`.
struct Flags {
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
};

// Parses leading flags; `valued` lists the flags that take a value. An
// unknown flag fails.
Flags parse_flags(Resolver& r, FileId file, const syntax::Span& span, const std::string& command,
                  const std::vector<std::string>& words,
                  std::initializer_list<std::string_view> valued,
                  std::initializer_list<std::string_view> boolean);

} // namespace earth::resolve
