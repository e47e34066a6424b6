// Diagnostics are data (STYLE.md rule 10): a location, a message, notes and a
// trace, rendered with the source line and a caret.
#pragma once

#include <string>
#include <vector>

#include "earth/base/error.h"
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
  std::string hint; // what the user can do about it ("run with -P …"); may be empty
};

// Renders "path:line:col: error: message", the source line and a caret (when
// `source` is given and matches), then notes, the hint and trace lines.
std::string render(const Diagnostic& d, const SourceFile* source = nullptr, bool color = false);

// A user error located in an Earthfile: the Diagnostics are the data
// (several for a file that does not parse). It is rendered when thrown
// (the source may be gone when it is caught), with and without colour;
// what() is the plain rendering, and main picks one (the CLI decides colour).
class DiagnosticError : public Error {
public:
  explicit DiagnosticError(Diagnostic d, const SourceFile* source = nullptr);
  // `ds` must not be empty.
  DiagnosticError(std::vector<Diagnostic> ds, const SourceFile* source);
  const Diagnostic& diagnostic() const { return diagnostics_.front(); }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  const std::string& rendered(bool colour) const { return colour ? coloured_ : plain_; }

private:
  std::vector<Diagnostic> diagnostics_;
  std::string plain_, coloured_;
};

} // namespace earth::syntax
