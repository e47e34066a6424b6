// Parsing: the grammar in grammar/earthfile.hpp, actions that feed the
// ParseState, error messages attached per rule, and recovery at the next
// target header so that one run reports the errors of every section.
#include "earth/syntax/parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include <tao/pegtl.hpp>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "grammar/earthfile.hpp"
#include "parse_errors.h"
#include "parse_state.h"
#include "validate.h"

namespace earth::syntax {

namespace pegtl = tao::pegtl;
namespace g = earth::grammar;
using detail::Frame;
using detail::ParseState;

namespace {

// ---------------------------------------------------------------------------
// Actions: each turns one matched rule into a ParseState call.

template <typename Rule> struct action : pegtl::nothing<Rule> {};

template <> struct action<g::comment_line> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view text = in.string_view();
    bool indented = !text.empty() && (text.front() == ' ' || text.front() == '\t');
    size_t hash = text.find('#');
    std::string_view c = text.substr(hash);
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r')) c.remove_suffix(1);
    st.comment_line(c, indented);
  }
};

template <> struct action<g::blank_line> {
  template <typename In> static void apply(const In&, ParseState& st) { st.blank_line(); }
};

// Keywords start a command; the keyword text is the command's name.
template <typename In> std::string keyword_name(const In& in) {
  std::string name = in.string();
  return name == "STOPSIGNAL" ? "STOP SIGNAL" : name; // Earthly's AST spelling
}

template <> struct action<g::plain_keyword> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.begin_command(keyword_name(in), in.begin(), false);
  }
};

template <> struct action<g::json_keyword> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.begin_command(in.string(), in.begin(), true);
  }
};

template <typename Rule, bool json> struct begin_command_action {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string name = in.string();
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    st.begin_command(std::move(name), in.begin(), json);
  }
};

template <> struct action<g::kv_keyword> : begin_command_action<g::kv_keyword, false> {};
template <> struct action<g::kw_env> : begin_command_action<g::kw_env, false> {};
template <> struct action<g::kw_label> : begin_command_action<g::kw_label, false> {};
template <> struct action<g::kw_project> : begin_command_action<g::kw_project, false> {};
template <> struct action<g::kw_version> : begin_command_action<g::kw_version, false> {};
template <> struct action<g::kw_if> : begin_command_action<g::kw_if, true> {};
template <> struct action<g::kw_else_if> : begin_command_action<g::kw_else_if, true> {};
template <> struct action<g::kw_else> : begin_command_action<g::kw_else, false> {};
template <> struct action<g::kw_for> : begin_command_action<g::kw_for, false> {};
template <> struct action<g::kw_wait> : begin_command_action<g::kw_wait, false> {};
template <> struct action<g::kw_try> : begin_command_action<g::kw_try, false> {};
template <> struct action<g::kw_catch> : begin_command_action<g::kw_catch, false> {};
template <> struct action<g::kw_finally> : begin_command_action<g::kw_finally, false> {};
template <> struct action<g::kw_docker> : begin_command_action<g::kw_docker, false> {};

template <> struct action<g::word> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.add_word(in.string_view(), in.begin());
  }
};
template <> struct action<g::kv_word> : action<g::word> {};

// `=` and the value become two elements, as in Earthly's AST.
template <> struct action<g::kv_value> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    size_t b = st.offset(in.begin());
    st.add_raw_word("=", b, b);
    st.add_raw_word(detail::remove_line_continuations(in.string_view()), b, b + in.size());
  }
};
template <> struct action<g::label_value> : action<g::kv_value> {};
template <> struct action<g::env_value> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view v = in.string_view();
    size_t skip = 0;
    while (skip < v.size() && (v[skip] == ' ' || v[skip] == '\t' || v[skip] == '\\')) {
      // leading blanks (and continuations) are not part of the value
      if (v[skip] == '\\') break;
      ++skip;
    }
    size_t b = st.offset(in.begin()) + skip;
    st.add_raw_word("=", b, b);
    st.add_raw_word(detail::remove_line_continuations(v.substr(skip)), b, b + v.size() - skip);
  }
};

template <> struct action<g::command_statement> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.end_command(in.end());
  }
};
template <> struct action<g::project_command> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.end_command(in.end());
  }
};
template <> struct action<g::version_line> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.set_version(in.end());
  }
};

template <> struct action<g::target_header> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view name = in.string_view();
    st.open_section(Frame::Kind::target, name.substr(0, name.size() - 1), in.begin());
  }
};
template <> struct action<g::function_header> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view name = in.string_view();
    st.open_section(Frame::Kind::function, name.substr(0, name.size() - 1), in.begin());
  }
};

template <Frame::Kind kind> struct open_block_action {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view text = in.string_view();
    std::string keyword(text.substr(0, text.find_first_of(" \t\r\n\\")));
    st.open_block(kind, keyword == "WITH" ? "WITH DOCKER" : keyword, in.begin(), true);
  }
};
template <> struct action<g::if_head> : open_block_action<Frame::Kind::if_block> {};
template <> struct action<g::for_head> : open_block_action<Frame::Kind::for_block> {};
template <> struct action<g::wait_head> : open_block_action<Frame::Kind::wait_block> {};
template <> struct action<g::with_head> : open_block_action<Frame::Kind::with_block> {};
template <> struct action<g::try_head> : open_block_action<Frame::Kind::try_block> {};

template <Frame::Section section> struct open_branch_action {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.open_branch(section, in.begin(), true);
  }
};
template <> struct action<g::else_if_head> : open_branch_action<Frame::Section::else_if> {};
template <> struct action<g::else_head> : open_branch_action<Frame::Section::else_> {};
template <> struct action<g::catch_head> : open_branch_action<Frame::Section::catch_> {};
template <> struct action<g::finally_head> : open_branch_action<Frame::Section::finally> {};

template <> struct action<g::end_line> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    std::string_view text = in.string_view();
    size_t end = text.find("END");
    st.close_block(in.begin() + static_cast<long>(end) + 3);
  }
};

// Quotes: remember where each opened, for "unterminated … opened here".
template <> struct action<g::dq_open> {
  template <typename In> static void apply(const In& in, ParseState& st) {
    st.quote_stack.push_back(st.offset(in.begin()));
  }
};
template <> struct action<g::sq_open> : action<g::dq_open> {};
template <> struct action<g::dq_string> {
  template <typename In> static void apply(const In&, ParseState& st) {
    if (!st.quote_stack.empty()) st.quote_stack.pop_back();
  }
};
template <> struct action<g::sq_string> : action<g::dq_string> {};

// ---------------------------------------------------------------------------
// Control: every raise becomes a SyntaxError with a message for people.

template <typename Rule> struct control : pegtl::normal<Rule> {
  template <typename In, typename... States>
  [[noreturn]] static void raise(const In& in, ParseState& st, States&&...) {
    detail::SyntaxError e = detail::error_for<Rule>(st, st.offset(in.current()),
                                                    std::string_view(in.current(), in.size(4096)));
    e.at = st.offset(in.current());
    e.recovery = detail::recovery_for<Rule>();
    throw e;
  }
};

// `$(` inside double quotes inside `$(`… can fail only at the end of the
// input and be retried from every enclosing level: remember where a
// shell-out failed so each offset is tried once (the fuzzer's F2).
template <> struct control<g::shell_out> : pegtl::normal<g::shell_out> {
  template <pegtl::apply_mode A, pegtl::rewind_mode M, template <typename...> class Action,
            template <typename...> class Control, typename In>
  static bool match(In& in, ParseState& st) {
    size_t at = st.offset(in.current());
    if (st.shell_out_failed(at)) return false;
    if (pegtl::normal<g::shell_out>::template match<A, M, Action, Control>(in, st)) return true;
    st.mark_shell_out_failed(at);
    return false;
  }
};

Diagnostic to_diagnostic(const ParseState& st, const detail::SyntaxError& e) {
  Diagnostic d;
  d.path = st.source().path();
  d.span = st.span(e.offset, e.offset + std::max<size_t>(e.length, 1));
  d.message = e.message;
  d.notes = e.notes;
  return d;
}

bool is_header_at(std::string_view text, size_t pos) {
  pegtl::memory_input<pegtl::tracking_mode::lazy> in(text.data() + pos, text.data() + text.size(),
                                                     "");
  return pegtl::parse<pegtl::seq<g::header_line, g::header_end>>(in);
}

// The offset of the line after the one holding `from`; npos at the end.
size_t next_line(std::string_view text, size_t from) {
  size_t pos = text.find('\n', from);
  return pos == std::string_view::npos ? pos : pos + 1;
}

// The offset of the next line at column 1 that starts a target or function
// header, after `from`; npos if there is none.
size_t next_header(std::string_view text, size_t from) {
  for (size_t pos = next_line(text, from); pos != std::string_view::npos;
       pos = next_line(text, pos))
    if (is_header_at(text, pos)) return pos;
  return std::string_view::npos;
}

// The first word of the line at `pos`, after its indentation.
std::string_view first_word(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  size_t end = pos;
  while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' &&
         text[end] != '\r')
    ++end;
  return text.substr(pos, end - pos);
}

enum class Resume { sections, recipe, base };
struct ResumePoint {
  size_t offset;
  Resume grammar;
};

// Where to go on after `e`: skips the rest of `depth` open blocks (counting
// block keywords against END), stopping early at a header.
ResumePoint resume_after(std::string_view text, const detail::SyntaxError& e, size_t depth,
                         bool in_base) {
  using R = detail::SyntaxError::Recovery;
  constexpr size_t npos = std::string_view::npos;
  if (e.recovery == R::at_failure) return {e.at, Resume::sections};
  if (e.recovery == R::next_header) return {next_header(text, e.at), Resume::sections};
  // A block head that failed opened no frame, but its body and END follow.
  size_t line_start = text.rfind('\n', e.at ? e.at - 1 : 0);
  line_start = line_start == npos || e.at == 0 ? 0 : line_start + 1;
  std::string_view head = first_word(text, line_start);
  if (head == "IF" || head == "FOR" || head == "WAIT" || head == "TRY" || head == "WITH") ++depth;
  size_t pos = next_line(text, e.at);
  while (pos != npos && depth > 0) {
    if (is_header_at(text, pos)) return {pos, Resume::sections};
    std::string_view w = first_word(text, pos);
    if (w == "IF" || w == "FOR" || w == "WAIT" || w == "TRY" || w == "WITH") ++depth;
    if (w == "END") --depth;
    pos = next_line(text, pos);
  }
  if (pos == npos) return {npos, Resume::sections};
  return {pos, in_base ? Resume::base : Resume::recipe};
}

template <typename Grammar> void parse_from(std::string_view text, size_t start, ParseState& st) {
  pegtl::memory_input<pegtl::tracking_mode::lazy> in(text.data() + start, text.data() + text.size(),
                                                     st.source().path());
  pegtl::parse<Grammar, action, control>(in, st);
}

// An Earthfile is text: a NUL byte means a binary or corrupt file, which is
// refused before parsing (reported at the first NUL, with the count).
std::optional<Diagnostic> nul_byte(const SourceFile& source) {
  std::string_view text = source.text();
  size_t first = text.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  size_t count =
      static_cast<size_t>(std::count(text.begin() + static_cast<long>(first), text.end(), '\0'));
  Diagnostic d;
  d.path = source.path();
  Position at = source.position(first);
  d.span = {at, at};
  d.message = count == 1 ? "NUL byte in the Earthfile (an Earthfile is text)"
                         : fmt::format("NUL byte in the Earthfile (an Earthfile is text; {} NUL "
                                       "bytes in all)",
                                       count);
  return d;
}

ParseResult refused(const SourceFile& source, Diagnostic d) {
  ParseResult result;
  result.earthfile.path = source.path();
  result.diagnostics.push_back(std::move(d));
  return result;
}

} // namespace

ParseResult parse_syntax_only(const SourceFile& source) {
  if (auto nul = nul_byte(source)) return refused(source, std::move(*nul));
  ParseResult result;
  std::string_view text = source.text();
  ParseState st(source, text.data());
  st.file.path = source.path();
  ResumePoint from{0, Resume::sections};
  bool first = true;
  for (;;) {
    try {
      if (first)
        parse_from<g::earthfile>(text, 0, st);
      else if (from.grammar == Resume::recipe)
        parse_from<g::recipe_rest>(text, from.offset, st);
      else if (from.grammar == Resume::base)
        parse_from<g::base_rest>(text, from.offset, st);
      else
        parse_from<g::sections>(text, from.offset, st);
      break;
    } catch (const detail::SyntaxError& e) {
      result.diagnostics.push_back(to_diagnostic(st, e));
      bool in_base = st.in_base_recipe();
      size_t depth = st.abandon_blocks();
      ResumePoint next = resume_after(text, e, depth, in_base);
      // Always move forward, so a file cannot loop the recovery.
      if (next.offset == std::string_view::npos || (!first && next.offset <= from.offset)) break;
      from = next;
      first = false;
    }
  }
  st.finish();
  result.earthfile = std::move(st.file);
  return result;
}

ParseResult parse(const SourceFile& source) {
  if (auto nul = nul_byte(source)) return refused(source, std::move(*nul));
  ParseResult r = parse_syntax_only(source);
  validate(source, r);
  return r;
}

std::string earthfile_in(const std::string& dir, const Disk& disk) {
  for (const char* name : {"Earthfile", "build.earth"}) {
    std::string candidate = fs::join(dir, name);
    // Only a name that is certainly absent is skipped: one that cannot be
    // checked (EACCES...) is returned so that reading it says why.
    FileStat st = disk.lstat(candidate);
    if (st.kind != FileStat::Kind::missing || (st.error != ENOENT && st.error != ENOTDIR))
      return candidate;
  }
  return {};
}

Result<std::string> read_earthfile(const std::string& path, const Disk& disk) {
  // Read first: the read refuses a non-regular file without blocking; only
  // a failure is looked at again, for the message (one stat fewer per file).
  auto text = disk.read_file(path);
  if (text) return text;
  FileStat st = disk.stat(path);
  if (st.kind == FileStat::Kind::missing) return Failure{errno_message(path, st.error)};
  if (st.kind != FileStat::Kind::file)
    return Failure{fmt::format("{}: is {}; an Earthfile must be a regular file", path, st.what)};
  return text;
}

Earthfile parse_file_or_throw(const std::string& path) {
  auto text = read_earthfile(path);
  if (!text.ok()) throw Error(text.error());
  SourceFile source(path, std::move(text).value());
  ParseResult r = parse(source);
  if (!r.ok()) throw DiagnosticError(std::move(r.diagnostics), &source);
  return std::move(r.earthfile);
}

} // namespace earth::syntax
