// The Earthfile parser: PEGTL rules from grammar/, actions that fill the AST,
// then validation. All errors of a file are reported, not just the first.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "earth/base/disk.h"
#include "earth/base/error.h"
#include "earth/syntax/ast.h"
#include "earth/syntax/diagnostic.h"
#include "earth/syntax/source.h"

namespace earth::syntax {

// At most this many IF/FOR/WAIT/TRY/WITH blocks may be open at once; a
// deeper block is a syntax error located at its keyword (docs/language.md).
inline constexpr size_t kMaxBlockDepth = 256;

struct ParseResult {
  Earthfile earthfile;
  std::vector<Diagnostic> diagnostics; // empty on success
  bool ok() const { return diagnostics.empty(); }
};

// Parses and validates one Earthfile. Never throws on bad input.
ParseResult parse(const SourceFile& source);

// Parses without the post-parse validation (for tools and tests).
ParseResult parse_syntax_only(const SourceFile& source);

// The Earthfile of directory `dir`: `Earthfile`, else the legacy
// `build.earth`; empty if there is neither. A name that cannot be checked
// (permission denied...) is returned, so that reading it reports why.
std::string earthfile_in(const std::string& dir, const Disk& disk = real_disk());

// Reads an Earthfile: a regular file only (a FIFO would block, a device never
// end). Failures name the path and what is wrong with it.
Result<std::string> read_earthfile(const std::string& path, const Disk& disk = real_disk());

// Reads `path` (read_earthfile) and parses it; a read failure throws
// earth::Error. On any diagnostic throws earth::Error whose message is every
// rendered diagnostic.
Earthfile parse_file_or_throw(const std::string& path);

} // namespace earth::syntax
