// Diagnostics are data (STYLE.md rule 10): a location, a message, notes and a
// trace, rendered with the source line and a caret.
#pragma once

#include <string>
#include <vector>

#include "earth/syntax/source.h"

namespace earth::syntax {

struct Note {
  std::string path; // empty: same file as the diagnostic
  Span span;        // line 0: no location
  std::string message;
};

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string path;
  Span span;
  std::string message;
  std::vector<Note> notes;
  // "while building +b, needed by +a", innermost first.
  std::vector<std::string> trace;
};

// Renders "path:line:col: error: message", the source line and a caret (when
// `source` is given and matches), then notes and trace lines.
std::string render(const Diagnostic& d, const SourceFile* source = nullptr, bool color = false);

} // namespace earth::syntax
