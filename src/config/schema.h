// The keys of config.yml: sections, their keys, the type of each value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace earth::config {

struct KeySpec {
  enum class Type { string, integer, boolean, string_list, any };
  std::string_view name;
  Type type = Type::string;
  long min = 0, max = 0; // integers
  bool ignored = false;  // Earthly's key, accepted and unused
};

// A section: `global`, `pull`, or one HOST of `registries` (named = true:
// its children are free-form names, each a mapping of `keys`).
struct SectionSpec {
  std::string_view name;
  bool named = false;
  bool ignored = false; // Earthly's `git`: any content
  std::vector<KeySpec> keys;
};

const std::vector<SectionSpec>& sections();
const SectionSpec* find_section(std::string_view name);
const KeySpec* find_key(const SectionSpec& s, std::string_view name);

// "an integer from 1 to 1024", "true or false", ...
std::string describe(const KeySpec& k);
// Empty when `value` fits `k`, else what is wrong.
std::string check_value(const KeySpec& k, const YAML::Node& value);

} // namespace earth::config
