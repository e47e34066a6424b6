#include "earth/resolve/expand.h"

#include <fnmatch.h>

#include <fmt/format.h>

namespace earth::resolve {

namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// One pass over a word. `pos` moves forward; `stop` ends a nested word
// (the `}` of `${NAME:-word}`), with brace nesting counted.
class Expander {
public:
  Expander(std::string_view text, const Lookup& lookup, const ShellOut& shell_out)
      : text_(text), lookup_(lookup), shell_out_(shell_out) {}

  Result<Value> run() {
    Value out;
    if (auto r = word(out, false); !r.ok()) return Failure{r.error()};
    return out;
  }

private:
  // Expands until the end, or until an unnested '}' when `in_braces`.
  Result<void> word(Value& out, bool in_braces) {
    int depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (in_braces && c == '}' && depth == 0) return {};
      if (in_braces && c == '{') ++depth;
      if (in_braces && c == '}') --depth;
      if (c == '\'') {
        if (auto r = single_quoted(out); !r.ok()) return r;
      } else if (c == '"') {
        if (auto r = double_quoted(out); !r.ok()) return r;
      } else if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) break; // a trailing '\' is dropped
        if (text_[pos_] == '+') out.text += '\\';
        out.text += text_[pos_++];
      } else if (c == '$') {
        if (auto r = dollar(out); !r.ok()) return r;
      } else {
        out.text += c;
        ++pos_;
      }
    }
    if (in_braces) return Failure{fmt::format("missing '}}' in '{}'", text_)};
    return {};
  }

  Result<void> single_quoted(Value& out) {
    size_t end = text_.find('\'', pos_ + 1);
    if (end == std::string_view::npos) return Failure{fmt::format("unterminated ' in '{}'", text_)};
    out.text.append(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return {};
  }

  Result<void> double_quoted(Value& out) {
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return {};
      }
      if (c == '\\' && pos_ + 1 < text_.size()) {
        char next = text_[pos_ + 1];
        if (next == '"' || next == '$' || next == '\\') {
          out.text += next;
          pos_ += 2;
          continue;
        }
        out.text += c;
        ++pos_;
      } else if (c == '$') {
        if (auto r = dollar(out); !r.ok()) return r;
      } else {
        out.text += c;
        ++pos_;
      }
    }
    return Failure{fmt::format("unterminated \" in '{}'", text_)};
  }

  // At a '$'.
  Result<void> dollar(Value& out) {
    size_t start = pos_++;
    if (pos_ >= text_.size()) {
      out.text += '$';
      return {};
    }
    char c = text_[pos_];
    if (c == '(') return shell_out(out, start);
    if (c == '{') return braced(out);
    if (is_name_start(c)) {
      size_t b = pos_;
      while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
      append_var(out, text_.substr(b, pos_ - b));
      return {};
    }
    if (c >= '0' && c <= '9') {
      ++pos_; // positional parameters are never set
      return {};
    }
    out.text += '$';
    return {};
  }

  // `$( … )` with nested parens and quotes: run through `shell_out_` when
  // given, else kept verbatim (the value is then dynamic).
  Result<void> shell_out(Value& out, size_t start) {
    int depth = 0;
    char quote = 0;
    for (; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (c == '\\' && quote != '\'') {
        ++pos_;
      } else if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        ++pos_;
        if (!shell_out_) {
          out.text.append(text_.substr(start, pos_ - start));
          out.dynamic = true;
          return {};
        }
        auto r = shell_out_(text_.substr(start + 2, pos_ - start - 3));
        if (!r) return Failure{r.error()};
        std::string text = std::move(r).value();
        while (!text.empty() && text.back() == '\n') text.pop_back();
        out.text += text;
        return {};
      }
    }
    return Failure{fmt::format("unterminated $( in '{}'", text_)};
  }

  void append_var(Value& out, std::string_view name) {
    if (const Value* v = lookup_(name)) {
      out.text += v->text;
      out.dynamic |= v->dynamic;
    }
  }

  // At the '{' of `${ … }`.
  Result<void> braced(Value& out) {
    ++pos_;
    size_t b = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    std::string name(text_.substr(b, pos_ - b));
    if (name.empty() || pos_ >= text_.size())
      return Failure{fmt::format("bad substitution in '{}'", text_)};
    char op = text_[pos_++];
    if (op == '}') {
      append_var(out, name);
      return {};
    }
    bool colon = false;
    if (op == ':') {
      if (pos_ >= text_.size()) return Failure{fmt::format("bad substitution in '{}'", text_)};
      colon = true;
      op = text_[pos_++];
    }
    bool longest = false;
    if ((op == '#' || op == '%') && !colon && pos_ < text_.size() && text_[pos_] == op) {
      longest = true;
      ++pos_;
    }
    if (op != '-' && op != '+' && op != '?' && (colon || (op != '#' && op != '%')))
      return Failure{fmt::format("unsupported modifier '{}' in '{}'", op, text_)};
    // The nested word recurses: bound it, so a hostile word fails instead
    // of exhausting the stack.
    if (depth_ >= kMaxExpansionDepth)
      return Failure{
          fmt::format("${{…}} nested more than {} deep (the one at character {} of the word)",
                      kMaxExpansionDepth, b - 1)};
    Value arg;
    ++depth_;
    auto r = word(arg, true);
    --depth_;
    if (!r.ok()) return r;
    ++pos_; // the '}'
    const Value* v = lookup_(name);
    bool set = v && (!colon || !v->text.empty());
    switch (op) {
    case '-':
      append_or(out, set ? *v : arg);
      break;
    case '+':
      if (set) append_or(out, arg);
      break;
    case '?':
      if (!set)
        return Failure{arg.text.empty() ? fmt::format("{}: is not allowed to be unset", name)
                                        : fmt::format("{}: {}", name, arg.text)};
      append_or(out, *v);
      break;
    default:
      if (v) append_or(out, trim_pattern(*v, arg.text, op == '#', longest));
    }
    out.dynamic |= arg.dynamic && op != '?';
    return {};
  }

  static void append_or(Value& out, const Value& v) {
    out.text += v.text;
    out.dynamic |= v.dynamic;
  }

  // ${NAME#pat} and friends, with shell glob patterns.
  static Value trim_pattern(const Value& v, const std::string& pat, bool prefix, bool longest) {
    const std::string& s = v.text;
    size_t n = s.size();
    for (size_t k = 0; k <= n; ++k) {
      size_t len = longest ? n - k : k;
      std::string part = prefix ? s.substr(0, len) : s.substr(n - len);
      if (fnmatch(pat.c_str(), part.c_str(), 0) == 0)
        return {prefix ? s.substr(len) : s.substr(0, n - len), v.dynamic};
    }
    return v;
  }

  std::string_view text_;
  const Lookup& lookup_;
  const ShellOut& shell_out_;
  size_t pos_ = 0;
  size_t depth_ = 0; // open `${NAME:-word}` words
};

} // namespace

Result<Value> expand_word(std::string_view word, const Lookup& lookup, const ShellOut& shell_out) {
  // Fast path: nothing to expand or unquote.
  if (word.find_first_of("$'\"\\") == std::string_view::npos)
    return Value{std::string(word), false};
  return Expander(word, lookup, shell_out).run();
}

bool has_shell_out(std::string_view word) {
  char quote = 0;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c == '\\' && quote != '\'') {
      ++i;
    } else if (quote == '\'') {
      if (c == '\'') quote = 0;
    } else if (c == '"') {
      quote = quote ? 0 : '"';
    } else if (c == '\'' && !quote) {
      quote = c;
    } else if (c == '$' && i + 1 < word.size() && word[i + 1] == '(') {
      return true;
    }
  }
  return false;
}

} // namespace earth::resolve
