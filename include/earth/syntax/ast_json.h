// The stable JSON dump of the AST, in exactly the shape of `earthly debug
// ast` (reference/earthfile.md §3.4); used by `earth debug ast` and golden tests.
#pragma once

#include <nlohmann/json.hpp>

#include "earth/syntax/ast.h"

namespace earth::syntax {

nlohmann::ordered_json to_json(const Earthfile& file, bool source_map = false);

} // namespace earth::syntax
