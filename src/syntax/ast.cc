#include "earth/syntax/ast.h"

namespace earth::syntax {

const Target* Earthfile::find_target(std::string_view name) const {
  for (const auto& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

const Function* Earthfile::find_function(std::string_view name) const {
  for (const auto& f : functions)
    if (f.name == name) return &f;
  return nullptr;
}

} // namespace earth::syntax
