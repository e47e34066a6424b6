// Small string utilities shared by every module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace earth {

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// Human-readable byte count: "1.5 MiB".
std::string format_bytes(uint64_t bytes);

} // namespace earth
