// Leading flags of a command (`--name value`, `--name=value`, booleans),
// shared by every statement the resolver reads.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/resolve/command_flags.h"
#include "resolver.h"

namespace earth::resolve {

using Flags = CommandFlags;

// Parses leading flags; `valued` lists the flags that take a value. An
// unknown flag fails.
Flags parse_flags(Resolver& r, FileId file, const syntax::Span& span, const std::string& command,
                  const std::vector<std::string>& words,
                  std::initializer_list<std::string_view> valued,
                  std::initializer_list<std::string_view> boolean);

} // namespace earth::resolve
