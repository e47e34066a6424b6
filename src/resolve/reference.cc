#include "earth/resolve/reference.h"

#include <fmt/format.h>

#include "earth/base/fs.h"

namespace earth::resolve {

namespace {

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits at unescaped '+'.
std::vector<std::string_view> split_plus(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      continue;
    }
    if (text[i] == '+') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

Result<Reference> parse_ref(std::string_view text, bool artifact) {
  auto parts = split_plus(text);
  if (parts.size() != 2)
    return Failure{fmt::format("invalid reference '{}': expected exactly one '+'", text)};
  auto ef = parse_earthfile_ref(parts[0]);
  if (!ef.ok()) return Failure{ef.error()};
  Reference ref;
  ref.earthfile = std::move(ef).value();
  std::string_view rest = parts[1];
  size_t slash = rest.find('/');
  std::string_view name = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    if (!artifact)
      return Failure{fmt::format("invalid target reference '{}': unexpected artifact path", text)};
    std::string path = unescape_plus(rest.substr(slash));
    // Keep globs and a trailing slash as written; only make it clean and absolute.
    bool trailing = path.size() > 1 && path.back() == '/';
    ref.artifact = fs::normalize(path);
    if (trailing && ref.artifact != "/") ref.artifact += '/';
  } else if (artifact) {
    return Failure{fmt::format("invalid artifact reference '{}': expected +target/path", text)};
  }
  ref.name = std::string(name);
  if (name.empty())
    return Failure{fmt::format("invalid reference '{}': missing target name", text)};
  if (is_upper(name[0])) {
    if (!is_valid_function_name(name))
      return Failure{fmt::format("invalid function name '{}' in '{}'", name, text)};
    if (artifact) return Failure{fmt::format("'{}': a function has no artifacts", text)};
  } else if (!is_valid_target_name(name)) {
    return Failure{fmt::format("invalid target name '{}' in '{}'", name, text)};
  }
  return ref;
}

} // namespace

namespace {

std::string escape_plus(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '+') out += '\\';
    out += c;
  }
  return out;
}

} // namespace

std::string EarthfileRef::to_string() const {
  return escape_plus(kind == Kind::remote && !tag.empty() ? path + ":" + tag : path);
}

std::string Reference::target_string() const {
  return earthfile.to_string() + "+" + name;
}

std::string Reference::to_string() const {
  return target_string() + escape_plus(artifact);
}

Result<EarthfileRef> parse_earthfile_ref(std::string_view text) {
  EarthfileRef ref;
  std::string t = unescape_plus(text);
  if (t.empty()) return ref;
  if (t[0] == '.' || t[0] == '/' || t.starts_with("~/") || t == "~") {
    ref.kind = EarthfileRef::Kind::local_path;
    if (t[0] == '~') {
      ref.path = "~" + (t.size() > 1 ? fs::normalize(t.substr(1)) : std::string());
    } else {
      ref.path = fs::normalize(t);
      if (ref.path[0] != '/' && ref.path[0] != '.') ref.path = "./" + ref.path;
      if (ref.path == ".") ref.path = "./";
    }
    return ref;
  }
  if (t.find('/') != std::string::npos || t.find(':') != std::string::npos) {
    ref.kind = EarthfileRef::Kind::remote;
    size_t colon = t.find(':');
    ref.path = t.substr(0, colon);
    if (colon != std::string::npos) ref.tag = t.substr(colon + 1);
    if (ref.path.empty() || (colon != std::string::npos && ref.tag.empty()))
      return Failure{fmt::format("invalid remote reference '{}'", text)};
    return ref;
  }
  for (char c : t)
    if (!(is_lower(c) || is_upper(c) || is_digit(c) || c == '-' || c == '_' || c == '.'))
      return Failure{fmt::format("invalid import alias '{}'", text)};
  ref.kind = EarthfileRef::Kind::alias;
  ref.path = t;
  return ref;
}

Result<Reference> parse_target_ref(std::string_view text) {
  return parse_ref(text, false);
}

Result<Reference> parse_artifact_ref(std::string_view text) {
  return parse_ref(text, true);
}

bool has_unescaped_plus(std::string_view text) {
  return split_plus(text).size() > 1;
}

std::string unescape_plus(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '+') continue;
    out += text[i];
  }
  return out;
}

Result<std::string> default_import_alias(const EarthfileRef& ref) {
  std::string_view p = ref.path;
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  std::string_view last = slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (last == ".." || last == "." || last.empty() || last == "~")
    return Failure{
        fmt::format("IMPORT {} needs AS <alias>: its path has no last element", ref.to_string())};
  return std::string(last);
}

bool is_valid_target_name(std::string_view name) {
  if (name.empty() || !is_lower(name[0])) return false;
  for (char c : name)
    if (!(is_lower(c) || is_upper(c) || is_digit(c) || c == '.' || c == '-')) return false;
  return true;
}

bool is_valid_function_name(std::string_view name) {
  if (name.empty() || !is_upper(name[0])) return false;
  for (char c : name)
    if (!(is_upper(c) || is_digit(c) || c == '.' || c == '_')) return false;
  return true;
}

bool is_valid_arg_name(std::string_view name) {
  if (name.empty() || is_digit(name[0])) return false;
  for (char c : name)
    if (!(is_lower(c) || is_upper(c) || is_digit(c) || c == '_')) return false;
  return true;
}

Result<std::vector<BuildArgFlag>> parse_build_arg_flags(const std::vector<std::string>& words) {
  std::vector<BuildArgFlag> out;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view w = words[i];
    size_t dashes = w.starts_with("--") ? 2 : w.starts_with("-") ? 1 : 0;
    if (dashes == 0 || w.size() == dashes)
      return Failure{
          fmt::format("unexpected '{}' after the reference: build args are --NAME=value", w)};
    std::string_view body = w.substr(dashes);
    size_t eq = body.find('=');
    BuildArgFlag flag;
    flag.name = std::string(body.substr(0, eq));
    if (eq != std::string_view::npos) {
      flag.value = std::string(body.substr(eq + 1));
    } else if (dashes == 2 && i + 1 < words.size() && !words[i + 1].starts_with("-")) {
      flag.value = words[++i];
    } else if (dashes == 1) {
      return Failure{fmt::format("invalid build arg '{}': use --{}=value", w, body)};
    }
    // As Earthly: a name that is no identifier (`--wasi-src-dir=x`) is passed
    // unchecked; no ARG can declare it, so it is simply unused.
    if (flag.name.empty())
      return Failure{fmt::format("invalid build arg '{}': use --NAME=value", w)};
    out.push_back(std::move(flag));
  }
  return out;
}

namespace {

// Net nesting after `word`: open parens and whether a quote is still open.
struct Balance {
  int parens = 0;
  char quote = 0;
};

void scan_balance(std::string_view word, Balance& b) {
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c == '\\' && b.quote != '\'' && i + 1 < word.size()) {
      ++i;
    } else if (b.quote) {
      if (c == b.quote) b.quote = 0;
    } else if (c == '"' || c == '\'') {
      b.quote = c;
    } else if (c == '(') {
      ++b.parens;
    } else if (c == ')') {
      --b.parens;
    }
  }
}

} // namespace

std::vector<std::string> join_grouped_words(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  Balance b;
  bool open = false;
  for (const auto& w : words) {
    if (open) {
      out.back() += ' ';
      out.back() += w;
    } else {
      out.push_back(w);
    }
    scan_balance(w, b);
    open = b.parens > 0 || b.quote;
    if (b.parens < 0) b.parens = 0;
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  Balance b;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!b.quote && b.parens == 0 && (c == ' ' || c == '\t' || c == '\n')) {
      if (have) out.push_back(std::move(cur));
      cur.clear();
      have = false;
      continue;
    }
    have = true;
    cur += c;
    if (c == '\\' && b.quote != '\'' && i + 1 < text.size()) {
      cur += text[++i];
      continue;
    }
    if (b.quote) {
      if (c == b.quote) b.quote = 0;
    } else if (c == '"' || c == '\'') {
      b.quote = c;
    } else if (c == '(' && i > 0 && text[i - 1] == '$') {
      ++b.parens; // $( … ) stays one word
    } else if (c == '(' && b.parens > 0) {
      ++b.parens;
    } else if (c == ')' && b.parens > 0) {
      --b.parens;
    }
  }
  if (have) out.push_back(std::move(cur));
  return out;
}

std::optional<GroupedRef> split_grouped_ref(std::string_view word) {
  if (word.size() >= 2 && (word.front() == '"' || word.front() == '\'') &&
      word.back() == word.front())
    word = word.substr(1, word.size() - 2);
  if (word.size() < 2 || word.front() != '(' || word.back() != ')') return std::nullopt;
  auto words = split_words(word.substr(1, word.size() - 2));
  if (words.empty()) return std::nullopt;
  GroupedRef g;
  g.ref = words[0];
  g.args.assign(words.begin() + 1, words.end());
  return g;
}

} // namespace earth::resolve
