#include "parse_errors.h"

#include <fmt/format.h>

#include "earth/base/strings.h"

namespace earth::syntax::detail {

namespace {

constexpr std::string_view kKeywords[] = {"FROM",          "FROM DOCKERFILE",
                                          "LOCALLY",       "COPY",
                                          "SAVE ARTIFACT", "SAVE IMAGE",
                                          "RUN",           "EXPOSE",
                                          "VOLUME",        "ENV",
                                          "ARG",           "LET",
                                          "SET",           "LABEL",
                                          "BUILD",         "WORKDIR",
                                          "USER",          "CMD",
                                          "ENTRYPOINT",    "GIT CLONE",
                                          "ADD",           "STOPSIGNAL",
                                          "ONBUILD",       "HEALTHCHECK",
                                          "SHELL",         "DO",
                                          "COMMAND",       "FUNCTION",
                                          "IMPORT",        "CACHE",
                                          "HOST",          "PROJECT",
                                          "WITH",          "IF",
                                          "FOR",           "WAIT",
                                          "TRY",           "END",
                                          "ELSE"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

} // namespace

std::string_view word_at(std::string_view rest) {
  size_t n = 0;
  while (n < rest.size() && rest[n] != ' ' && rest[n] != '\t' && rest[n] != '\r' && rest[n] != '\n')
    ++n;
  return rest.substr(0, n);
}

std::string command_hint(std::string_view word) {
  std::string up = upper(word);
  for (auto k : kKeywords)
    if (up == k) return "; commands are upper case: did you mean " + up + "?";
  std::string multi;
  for (auto k : kKeywords)
    if (k.starts_with(up + " ")) multi += (multi.empty() ? "" : " or ") + std::string(k);
  if (!multi.empty())
    return "; did you mean " + multi + "? (the words of a keyword are separated by one space)";
  std::string_view best;
  size_t best_distance = 3;
  for (auto k : kKeywords) {
    size_t d = edit_distance(up, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  if (!best.empty()) return "; did you mean " + std::string(best) + "?";
  if (word.find('=') != std::string_view::npos || word.ends_with(":"))
    return "; a target header starts at column 1 and ends with ':'";
  return "";
}

SyntaxError missing_end(const ParseState& st, size_t offset, std::string_view rest) {
  const Frame& open = st.frames().back();
  std::string found = rest.empty() ? "the end of the file" : "'" + std::string(word_at(rest)) + "'";
  SyntaxError e{open.begin,
                open.keyword.size(),
                fmt::format("{} without END: the block opened here is never closed", open.keyword),
                {}};
  Note n;
  n.span = st.span(offset, offset + 1);
  n.message = "expected END before " + found;
  if (rest.empty()) n.span = {};
  e.notes.push_back(n);
  return e;
}

SyntaxError unterminated_quote(const ParseState& st, size_t offset, char quote) {
  size_t open = st.quote_stack.empty() ? offset : st.quote_stack.back();
  return SyntaxError{open,
                     1,
                     quote == '"' ? "unterminated double quote opened here"
                                  : "unterminated single quote opened here",
                     {}};
}

SyntaxError unexpected_text(size_t offset, std::string_view rest, std::string_view context) {
  std::string_view w = word_at(rest);
  return SyntaxError{
      offset, w.empty() ? 1 : w.size(), fmt::format("unexpected '{}' {}", w, context), {}};
}

} // namespace earth::syntax::detail
