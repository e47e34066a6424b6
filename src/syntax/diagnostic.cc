#include "earth/syntax/diagnostic.h"

#include <fmt/format.h>

namespace earth::syntax {

namespace {

struct Colors {
  const char* bold = "";
  const char* red = "";
  const char* yellow = "";
  const char* cyan = "";
  const char* reset = "";
};

// "  7 | RUN echo "x\n    |          ^ "
void render_frame(std::string& out, const SourceFile& source, const Span& span, const Colors& c) {
  // Control bytes (a NUL...) would garble the terminal: one '?' each keeps
  // the caret's column.
  std::string text(source.line(span.begin.line));
  for (char& ch : text)
    if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) ch = '?';
  std::string number = std::to_string(span.begin.line);
  std::string pad(number.size(), ' ');
  out += fmt::format(" {} | {}\n", number, text);
  std::string marker;
  uint32_t col = span.begin.column ? span.begin.column : 1;
  for (uint32_t i = 1; i < col && i <= text.size(); ++i) marker += text[i - 1] == '\t' ? '\t' : ' ';
  uint32_t width = 1;
  if (span.end.line == span.begin.line && span.end.column > col) width = span.end.column - col + 1;
  out += fmt::format(" {} | {}{}{}{}\n", pad, marker, c.red, std::string(width, '^'), c.reset);
}

} // namespace

std::string render(const Diagnostic& d, const SourceFile* source, bool color) {
  Colors c;
  if (color) c = {"\033[1m", "\033[31;1m", "\033[33;1m", "\033[36m", "\033[0m"};
  std::string out;
  std::string where = d.path;
  if (d.span.begin.line) where += fmt::format(":{}:{}", d.span.begin.line, d.span.begin.column);
  const char* kind = d.severity == Diagnostic::Severity::error ? "error" : "warning";
  out += fmt::format("{}{}:{} {}{}:{} {}\n", c.bold, where, c.reset,
                     d.severity == Diagnostic::Severity::error ? c.red : c.yellow, kind, c.reset,
                     d.message);
  bool same_file = source && source->path() == d.path;
  if (same_file && d.span.begin.line && d.span.begin.line <= source->line_count())
    render_frame(out, *source, d.span, c);
  for (const auto& n : d.notes) {
    std::string path = n.path.empty() ? d.path : n.path;
    if (n.span.begin.line) {
      out += fmt::format("{}{}:{}:{}:{} {}note:{} {}\n", c.bold, path, n.span.begin.line,
                         n.span.begin.column, c.reset, c.cyan, c.reset, n.message);
      if (same_file && n.path.empty() && n.span.begin.line <= source->line_count())
        render_frame(out, *source, n.span, c);
    } else {
      out += fmt::format("{}note:{} {}\n", c.cyan, c.reset, n.message);
    }
  }
  if (!d.hint.empty()) out += fmt::format("{}hint:{} {}\n", c.cyan, c.reset, d.hint);
  for (const auto& t : d.trace) out += fmt::format("  {}\n", t);
  return out;
}

namespace {

std::string render_all(const std::vector<Diagnostic>& ds, const SourceFile* source, bool colour) {
  std::string s;
  for (const auto& d : ds) s += render(d, source, colour);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::vector<Diagnostic> one(Diagnostic d) {
  std::vector<Diagnostic> ds;
  ds.push_back(std::move(d));
  return ds;
}

} // namespace

DiagnosticError::DiagnosticError(Diagnostic d, const SourceFile* source)
    : DiagnosticError(one(std::move(d)), source) {}

DiagnosticError::DiagnosticError(std::vector<Diagnostic> ds, const SourceFile* source)
    : Error(render_all(ds, source, false)), diagnostics_(std::move(ds)), plain_(what()),
      coloured_(render_all(diagnostics_, source, true)) {}

} // namespace earth::syntax
