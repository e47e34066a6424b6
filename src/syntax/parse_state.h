// The one explicit state the parser's actions fill (STYLE.md rule 4). It
// keeps a stack of open recipes and blocks; a block becomes a Statement when
// its END is parsed, so no pointer into a growing vector is ever held.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "earth/syntax/ast.h"
#include "earth/syntax/diagnostic.h"
#include "earth/syntax/parser.h"
#include "earth/syntax/source.h"

namespace earth::syntax::detail {

// An open recipe or block. `body` collects the statements of the section
// being parsed (the IF branch, the ELSE body, the FINALLY body...).
struct Frame {
  enum class Kind {
    base,
    target,
    function,
    if_block,
    for_block,
    wait_block,
    with_block,
    try_block
  };
  enum class Section { main, else_if, else_, catch_, finally };
  Kind kind = Kind::base;
  Section section = Section::main;
  std::string keyword; // "IF", "FOR", ... for messages
  size_t begin = 0;    // offset of the opening keyword or header
  std::string docs;
  Block body;
  Statement stmt; // the block statement being assembled
  // Target or function being assembled (kind target/function).
  std::string name;
};

// A syntax error found while parsing, before it becomes a Diagnostic.
struct SyntaxError {
  // Where parsing goes on after this error, so one run reports the errors of
  // the whole file.
  enum class Recovery {
    next_line,   // the next statement of the same recipe (after any open block)
    next_header, // the next target or function header
    at_failure,  // where the parser stopped (a header or EOF ended a block)
  };
  size_t offset;
  size_t length;
  std::string message;
  std::vector<Note> notes;
  size_t at = 0; // where the parser failed
  Recovery recovery = Recovery::next_line;
};

class ParseState {
public:
  ParseState(const SourceFile& source, const char* base) : source_(source), base_(base) {}

  const SourceFile& source() const { return source_; }
  size_t offset(const char* p) const { return static_cast<size_t>(p - base_); }
  Span span(size_t begin, size_t end) const;

  // Lines before a statement or header.
  void comment_line(std::string_view text, bool indented);
  void blank_line() { docs_.clear(); }

  void begin_command(std::string name, const char* begin, bool json);
  void add_word(std::string_view raw, const char* begin);
  void add_raw_word(std::string text, size_t begin, size_t end);
  void end_command(const char* end);

  void set_version(const char* end);
  void open_section(Frame::Kind kind, std::string_view name, const char* begin);
  void open_block(Frame::Kind kind, std::string keyword, const char* begin, bool with_words);
  void open_branch(Frame::Section section, const char* begin, bool with_words);
  void close_block(const char* end);
  // Drops the blocks open in the current section, after an error; returns
  // how many there were.
  size_t abandon_blocks();
  bool in_base_recipe() const {
    return frames_.empty() || frames_.front().kind == Frame::Kind::base;
  }
  void finish(); // closes the last section

  const std::vector<Frame>& frames() const { return frames_; }
  bool shell_out_failed(size_t at) const {
    return at < shell_out_failed_.size() && shell_out_failed_[at];
  }
  void mark_shell_out_failed(size_t at) {
    if (shell_out_failed_.size() <= at) shell_out_failed_.resize(source_.text().size() + 1);
    shell_out_failed_[at] = true;
  }
  std::vector<size_t> quote_stack; // offsets of open quotes
  Earthfile file;

private:
  Command take_command();
  // Throws a SyntaxError when a new block would nest deeper than kMaxBlockDepth.
  void check_block_depth(const std::string& keyword, size_t begin) const;
  void append(Statement stmt);
  void close_section();

  const SourceFile& source_;
  const char* base_;
  std::vector<Frame> frames_;
  std::vector<std::string> docs_;
  std::vector<bool> shell_out_failed_; // by offset; see control<shell_out>
  bool docs_indented_ = false;
  // The command being parsed.
  Command command_;
  size_t command_begin_ = 0;
  size_t command_end_ = 0;
  bool command_json_ = false;
  std::string command_docs_;
};

// Removes Earthly's line continuations from a word: `\`, blanks, an optional
// comment, a newline, then blank or comment lines and the indentation.
std::string remove_line_continuations(std::string_view raw);

} // namespace earth::syntax::detail
