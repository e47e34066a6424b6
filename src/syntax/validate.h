// Post-parse validation: the rules a grammar cannot express (duplicate
// names, misplaced FUNCTION, ARG flags, VERSION and its feature flags).
#pragma once

#include "earth/syntax/parser.h"

namespace earth::syntax {

// Appends a diagnostic to `result` for every rule the AST breaks.
void validate(const SourceFile& source, ParseResult& result);

} // namespace earth::syntax
