#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mini {

// Splits `text` at every `sep`; empty fields are kept.
std::vector<std::string> split(std::string_view text, char sep);

// `text` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view text);

} // namespace mini
