// Shared by the reader and the editor of config.yml.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "earth/base/error.h"

namespace earth::config {

// "path:line:col: error: message", the line and a caret under `width`
// characters, and `note` when not empty.
std::string located_error(const std::string& path, const std::string& text, const YAML::Mark& m,
                          size_t width, const std::string& message, const std::string& note);

// The document in `text`, or its parse error located.
Result<YAML::Node> load_yaml(const std::string& path, const std::string& text);

} // namespace earth::config
