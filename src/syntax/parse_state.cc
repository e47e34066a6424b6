#include "parse_state.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace earth::syntax::detail {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Matches the continuation at raw[i] (a backslash); returns its length or 0.
size_t continuation_length(std::string_view raw, size_t i) {
  size_t j = i + 1;
  auto skip_blanks = [&] {
    while (j < raw.size() && is_blank(raw[j])) ++j;
  };
  auto skip_comment = [&] {
    if (j < raw.size() && raw[j] == '#')
      while (j < raw.size() && raw[j] != '\n' && raw[j] != '\r') ++j;
  };
  auto newline = [&] {
    if (j < raw.size() && raw[j] == '\n') return ++j, true;
    if (j + 1 < raw.size() && raw[j] == '\r' && raw[j + 1] == '\n') return j += 2, true;
    return false;
  };
  skip_blanks();
  skip_comment();
  if (!newline()) return 0;
  skip_blanks();
  for (;;) {
    size_t save = j;
    skip_comment();
    if (!newline()) {
      j = save;
      break;
    }
    skip_blanks();
  }
  return j - i;
}

// The exec form: the words, glued, parse as a JSON array of strings.
bool decode_json_words(const std::vector<std::string>& words, std::vector<std::string>& out) {
  std::string text;
  for (const auto& w : words) text += w;
  if (text.empty() || text.front() != '[') return false;
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_array()) return false;
  std::vector<std::string> decoded;
  for (const auto& item : json) {
    if (!item.is_string()) return false;
    decoded.push_back(item.get<std::string>());
  }
  out = std::move(decoded);
  return true;
}

} // namespace

std::string remove_line_continuations(std::string_view raw) {
  if (raw.find('\\') == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\') {
      if (size_t n = continuation_length(raw, i)) {
        i += n - 1;
        continue;
      }
    }
    out += raw[i];
  }
  return out;
}

Span ParseState::span(size_t begin, size_t end) const {
  if (end <= begin) end = begin + 1;
  return {source_.position(begin), source_.position(end - 1)};
}

void ParseState::comment_line(std::string_view text, bool indented) {
  if (docs_.empty()) docs_indented_ = false;
  docs_indented_ = docs_indented_ || indented;
  docs_.emplace_back(text);
}

// Earthly's rule: drop '#', then the blanks the first line had after it.
static std::string render_docs(const std::vector<std::string>& lines) {
  std::string out;
  std::string trim;
  bool first = true;
  for (std::string_view line : lines) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (!line.empty() && line.front() == '#') line.remove_prefix(1);
    if (first) {
      size_t n = 0;
      while (n < line.size() && is_blank(line[n])) ++n;
      trim = std::string(line.substr(0, n));
      first = false;
    }
    if (line.starts_with(trim)) line.remove_prefix(trim.size());
    out += line;
    out += '\n';
  }
  return out;
}

void ParseState::begin_command(std::string name, const char* begin, bool json) {
  command_ = Command{};
  command_.name = std::move(name);
  command_.kind = command_kind(command_.name);
  command_.args.reserve(6);
  command_.arg_spans.reserve(6);
  command_begin_ = offset(begin);
  command_end_ = command_begin_ + command_.name.size();
  command_json_ = json;
  command_docs_ = render_docs(docs_);
  docs_.clear();
}

void ParseState::add_word(std::string_view raw, const char* begin) {
  size_t b = offset(begin);
  add_raw_word(remove_line_continuations(raw), b, b + raw.size());
}

void ParseState::add_raw_word(std::string text, size_t begin, size_t end) {
  command_.args.push_back(std::move(text));
  command_.arg_spans.push_back(span(begin, end));
  command_end_ = end;
}

Command ParseState::take_command() {
  Command c = std::move(command_);
  c.docs = std::move(command_docs_);
  c.span = span(command_begin_, command_end_);
  if (command_json_) c.exec_mode = decode_json_words(c.args, c.args);
  command_ = Command{};
  return c;
}

void ParseState::end_command(const char*) {
  Statement stmt;
  stmt.span = span(command_begin_, command_end_);
  stmt.node = take_command();
  append(std::move(stmt));
}

void ParseState::append(Statement stmt) {
  if (frames_.empty()) frames_.push_back(Frame{});
  frames_.back().body.push_back(std::move(stmt));
}

void ParseState::set_version(const char*) {
  Command c = take_command();
  file.version = Version{std::move(c.args), std::move(c.arg_spans), c.span};
}

void ParseState::open_section(Frame::Kind kind, std::string_view name, const char* begin) {
  close_section();
  Frame f;
  f.kind = kind;
  f.name = std::string(name);
  f.begin = offset(begin);
  if (!docs_indented_) f.docs = render_docs(docs_);
  docs_.clear();
  frames_.push_back(std::move(f));
}

void ParseState::close_section() {
  if (frames_.empty()) return;
  Frame& f = frames_.front();
  Span header = span(f.begin, f.begin + f.name.size() + 1);
  switch (f.kind) {
  case Frame::Kind::target:
    file.targets.push_back(Target{f.name, f.docs, std::move(f.body), header});
    break;
  case Frame::Kind::function:
    file.functions.push_back(Function{f.name, f.docs, std::move(f.body), header});
    break;
  default:
    file.base_recipe = std::move(f.body);
  }
  frames_.clear();
}

// Deeper nesting would only exhaust the stack of the recursive passes that
// follow (validation, the resolver's walk, the JSON dump), so it is refused
// here, before the parser itself recurses into the body.
void ParseState::check_block_depth(const std::string& keyword, size_t begin) const {
  auto is_block = [](const Frame& f) { return f.kind >= Frame::Kind::if_block; };
  size_t open = static_cast<size_t>(std::count_if(frames_.begin(), frames_.end(), is_block));
  if (open < kMaxBlockDepth) return;
  auto outer = std::find_if(frames_.begin(), frames_.end(), is_block);
  SyntaxError e{begin,
                keyword.size(),
                fmt::format("blocks nest too deeply: this {} would be block {} inside {} open "
                            "IF/FOR/WAIT/TRY/WITH blocks (at most {})",
                            keyword, open + 1, open, kMaxBlockDepth),
                {{"", span(outer->begin, outer->begin + outer->keyword.size()),
                  "the outermost open block starts here"}}};
  e.at = begin;
  e.recovery = SyntaxError::Recovery::next_header;
  throw e;
}

void ParseState::open_block(Frame::Kind kind, std::string keyword, const char* begin,
                            bool with_words) {
  check_block_depth(keyword, offset(begin));
  Frame f;
  f.kind = kind;
  f.keyword = std::move(keyword);
  f.begin = offset(begin);
  Command head = take_command();
  f.docs = head.docs;
  switch (kind) {
  case Frame::Kind::if_block: {
    IfStmt s;
    s.if_branch.expression = std::move(head.args);
    s.if_branch.exec_mode = head.exec_mode;
    s.if_branch.span = head.span;
    f.stmt.node = std::move(s);
    break;
  }
  case Frame::Kind::for_block:
    f.stmt.node = ForStmt{std::move(head.args), {}};
    break;
  case Frame::Kind::wait_block:
    f.stmt.node = WaitStmt{std::move(head.args), {}};
    break;
  case Frame::Kind::with_block:
    head.name = "DOCKER";
    head.kind = CommandKind::docker;
    f.stmt.node = WithStmt{std::move(head), {}};
    break;
  default:
    f.stmt.node = TryStmt{};
  }
  (void)with_words;
  frames_.push_back(std::move(f));
}

// Moves the statements collected so far into the section they belong to.
static void store_section(Frame& f) {
  Block body = std::move(f.body);
  f.body.clear();
  if (auto* s = std::get_if<IfStmt>(&f.stmt.node)) {
    if (f.section == Frame::Section::main)
      s->if_branch.body = std::move(body);
    else if (f.section == Frame::Section::else_if)
      s->else_ifs.back().body = std::move(body);
    else
      s->else_body = std::move(body);
  } else if (auto* t = std::get_if<TryStmt>(&f.stmt.node)) {
    if (f.section == Frame::Section::main)
      t->try_body = std::move(body);
    else if (f.section == Frame::Section::catch_)
      t->catch_body = std::move(body);
    else
      t->finally_body = std::move(body);
  } else if (auto* r = std::get_if<ForStmt>(&f.stmt.node)) {
    r->body = std::move(body);
  } else if (auto* w = std::get_if<WaitStmt>(&f.stmt.node)) {
    w->body = std::move(body);
  } else if (auto* d = std::get_if<WithStmt>(&f.stmt.node)) {
    d->body = std::move(body);
  }
}

void ParseState::open_branch(Frame::Section section, const char*, bool with_words) {
  Frame& f = frames_.back();
  store_section(f);
  f.section = section;
  Command head = take_command();
  if (section == Frame::Section::else_if) {
    auto& s = std::get<IfStmt>(f.stmt.node);
    Branch b;
    b.expression = std::move(head.args);
    b.exec_mode = head.exec_mode;
    b.span = head.span;
    s.else_ifs.push_back(std::move(b));
  }
  (void)with_words;
}

void ParseState::close_block(const char* end) {
  Frame f = std::move(frames_.back());
  frames_.pop_back();
  store_section(f);
  f.stmt.span = span(f.begin, offset(end));
  f.stmt.docs = std::move(f.docs);
  command_ = Command{};
  append(std::move(f.stmt));
}

size_t ParseState::abandon_blocks() {
  size_t depth = frames_.empty() ? 0 : frames_.size() - 1;
  while (frames_.size() > 1) frames_.pop_back();
  command_ = Command{};
  docs_.clear();
  quote_stack.clear();
  return depth;
}

void ParseState::finish() {
  close_section();
}

} // namespace earth::syntax::detail
