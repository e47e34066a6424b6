#include "earth/syntax/parser.h"

#include "earth/base/error.h"
#include "earth/base/fs.h"

namespace earth::syntax {

ParseResult parse_syntax_only(const SourceFile& source) {
  ParseResult r;
  r.earthfile.path = source.path();
  r.diagnostics.push_back({Diagnostic::Severity::error, source.path(), {}, "parser not written yet", {}, {}});
  return r;
}

ParseResult parse(const SourceFile& source) { return parse_syntax_only(source); }

Earthfile parse_file_or_throw(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text.ok()) throw Error(text.error());
  SourceFile source(path, std::move(text).value());
  ParseResult r = parse(source);
  if (!r.ok()) {
    std::string msg;
    for (const auto& d : r.diagnostics) msg += render(d, &source);
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw Error(msg);
  }
  return std::move(r.earthfile);
}

} // namespace earth::syntax
