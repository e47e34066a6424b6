// libFuzzer target for the Earthfile parser: any input must parse (or fail
// with diagnostics) without crashing, hanging or leaking, and whatever parses
// must dump to JSON and render its diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "earth/syntax/ast_json.h"
#include "earth/syntax/diagnostic.h"
#include "earth/syntax/parser.h"
#include "earth/syntax/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  earth::syntax::SourceFile source("fuzz/Earthfile",
                                   std::string(reinterpret_cast<const char*>(data), size));
  earth::syntax::ParseResult r = earth::syntax::parse(source);
  size_t sink = 0;
  for (const auto& d : r.diagnostics) {
    // Every error points into the file: a real line, at most one past its end.
    const auto& b = d.span.begin;
    if (b.line > source.line_count() || (b.line && b.column > source.line(b.line).size() + 1))
      __builtin_trap();
    sink += earth::syntax::render(d, &source).size();
  }
  // `replace`: words are bytes as written, and a non-UTF-8 byte makes a strict
  // dump throw (found by this fuzzer; corpus/parser/crash-non-utf8-word.earth).
  // The CLI decides how to print those; here the rest of the dump is exercised.
  if (r.ok())
    sink += earth::syntax::to_json(r.earthfile, true)
                .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                .size();
  return sink == static_cast<size_t>(-1) ? 1 : 0;
}
