// `earth config KEY VALUE`: edits config.yml as text, line by line, using
// yaml-cpp only to find where each key is, so comments and the layout of
// every other line survive (yaml-cpp's emitter would drop comments).
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "earth/base/strings.h"
#include "earth/config/config.h"
#include "located.h"
#include "schema.h"

namespace earth::config {

namespace {

size_t indent_of(const std::string& line) {
  size_t p = line.find_first_not_of(' ');
  return p == std::string::npos ? line.size() : p;
}

bool blank_or_comment(const std::string& line) {
  std::string_view t = trim(line);
  return t.empty() || t[0] == '#';
}

// One past the last line of the block under the key at (line, col).
size_t block_end(const std::vector<std::string>& lines, size_t line, size_t col) {
  size_t last = line;
  for (size_t j = line + 1; j < lines.size(); ++j) {
    if (blank_or_comment(lines[j])) continue;
    if (indent_of(lines[j]) <= col) break;
    last = j;
  }
  return last + 1;
}

// Where a plain or quoted value starting at `from` ends: before " #".
size_t value_end(const std::string& line, size_t from) {
  size_t hash = line.find(" #", from);
  size_t end = hash == std::string::npos ? line.size() : hash;
  while (end > from && line[end - 1] == ' ') --end;
  return end;
}

std::string yaml_key(const std::string& k) {
  return k.find_first_of(":#{}[],&*!|>'\"%@`") == std::string::npos ? k : "\"" + k + "\"";
}

struct Path {
  std::vector<std::string> parts; // section [HOST] key
  const KeySpec* spec = nullptr;  // null: free-form (Earthly's git)
};

Result<Path> split_key(const std::string& key) {
  auto words = split(key, '.');
  const SectionSpec* s = words.empty() ? nullptr : find_section(words[0]);
  std::vector<std::string> names;
  for (const auto& sec : sections()) names.emplace_back(sec.name);
  if (!s) return Failure{fmt::format("unknown key '{}' (keys: {})", key, join(known_keys(), ", "))};
  size_t want = s->named ? 3 : 2;
  if (words.size() < want || (!s->named && words.size() > want))
    return Failure{fmt::format("'{}' is not a key: use {}.{}KEY (keys: {})", key, s->name,
                               s->named ? "HOST." : "", join(known_keys(), ", "))};
  Path p;
  p.parts.push_back(words[0]);
  if (s->named) {
    std::vector<std::string> host(words.begin() + 1, words.end() - 1);
    p.parts.push_back(join(host, "."));
  }
  p.parts.push_back(words.back());
  if (s->ignored) return p;
  p.spec = find_key(*s, words.back());
  if (!p.spec || p.spec->ignored) {
    std::vector<std::string> keys;
    for (const auto& k : s->keys)
      if (!k.ignored) keys.emplace_back(k.name);
    return Failure{fmt::format("unknown key '{}' in {} (allowed: {})", words.back(), s->name,
                               join(keys, ", "))};
  }
  return p;
}

class Editor {
public:
  Editor(std::vector<std::string> lines, const Path& path, std::string value)
      : lines_(std::move(lines)), path_(path), value_(std::move(value)) {}
  Result<std::string> run(const YAML::Node& root);

private:
  void replace(const YAML::Node& key, const YAML::Node& value);
  Result<void> insert(const YAML::Node* parent_key, const YAML::Node& parent, size_t level);

  std::vector<std::string> lines_;
  const Path& path_;
  std::string value_;
};

Result<std::string> Editor::run(const YAML::Node& root) {
  if (root && !root.IsNull() && !root.IsMap()) return Failure{"the file is not a mapping"};
  YAML::Node node = root;
  YAML::Node key_node;
  bool have_key = false;
  for (size_t level = 0; level < path_.parts.size(); ++level) {
    bool found = false;
    if (node.IsMap())
      for (const auto& kv : node)
        if (kv.first.Scalar() == path_.parts[level]) {
          key_node = kv.first;
          node = kv.second;
          found = have_key = true;
          break;
        }
    if (!found) {
      auto r = insert(have_key ? &key_node : nullptr, node, level);
      if (!r) return Failure{r.error()};
      return join(lines_, "\n");
    }
  }
  replace(key_node, node);
  return join(lines_, "\n");
}

// KEY exists: its value is replaced; a trailing comment on its line stays.
void Editor::replace(const YAML::Node& key, const YAML::Node& value) {
  auto line = static_cast<size_t>(key.Mark().line);
  auto col = static_cast<size_t>(key.Mark().column);
  std::string& l = lines_[line];
  if (value.IsScalar() && static_cast<size_t>(value.Mark().line) == line) {
    auto from = static_cast<size_t>(value.Mark().column);
    l = l.substr(0, from) + value_ + l.substr(value_end(l, from));
    return;
  }
  size_t colon = l.find(':', col + key.Scalar().size());
  std::string comment;
  if (size_t hash = l.find(" #", colon); hash != std::string::npos) comment = l.substr(hash);
  std::string head = l.substr(0, colon + 1) + " " + value_ + comment;
  size_t end = block_end(lines_, line, col);
  lines_.erase(lines_.begin() + static_cast<long>(line) + 1,
               lines_.begin() + static_cast<long>(end));
  lines_[line] = head;
}

// KEY is missing from level `level` on: the missing mappings and the key are
// added at the end of the deepest one that exists.
Result<void> Editor::insert(const YAML::Node* parent_key, const YAML::Node& parent, size_t level) {
  size_t at = lines_.size(), indent = 0;
  if (!lines_.empty() && lines_.back().empty()) --at; // before the final newline
  if (parent_key) {
    if (parent.Style() == YAML::EmitterStyle::Flow || !(parent.IsMap() || parent.IsNull()))
      return Failure{fmt::format("line {}: {} is not a block mapping; edit it by hand",
                                 parent_key->Mark().line + 1, parent_key->Scalar())};
    auto line = static_cast<size_t>(parent_key->Mark().line);
    auto col = static_cast<size_t>(parent_key->Mark().column);
    indent = parent.IsMap() && parent.size()
                 ? static_cast<size_t>(parent.begin()->first.Mark().column)
                 : col + 2;
    at = block_end(lines_, line, col);
  }
  std::vector<std::string> added;
  for (size_t k = level; k < path_.parts.size(); ++k) {
    std::string text = std::string(indent + 2 * (k - level), ' ') + yaml_key(path_.parts[k]) + ":";
    if (k + 1 == path_.parts.size()) text += " " + value_;
    added.push_back(text);
  }
  if (lines_.empty()) lines_.push_back("");
  lines_.insert(lines_.begin() + static_cast<long>(at), added.begin(), added.end());
  return {};
}

} // namespace

Result<std::string> set_key(const std::string& path, const std::string& text,
                            const std::string& key, const std::string& value) {
  auto p = split_key(key);
  if (!p) return Failure{"earth config: " + p.error()};
  std::string v(trim(value));
  YAML::Node parsed;
  try {
    parsed = YAML::Load(v.empty() ? "\"\"" : v);
  } catch (const YAML::Exception& e) {
    return Failure{"earth config: " + key + ": '" + value + "' is not a YAML value: " + e.msg};
  }
  if (p->spec)
    if (auto e = check_value(*p->spec, parsed); !e.empty())
      return Failure{"earth config: " + key + ": " + e};
  auto root = load_yaml(path, text);
  if (!root) return Failure{root.error()};
  auto edited = Editor(split(text, '\n'), *p, v.empty() ? "\"\"" : v).run(*root);
  if (!edited) return Failure{"earth config: " + path + ": " + edited.error()};
  std::string out = *edited;
  if (!out.ends_with("\n")) out += "\n";
  if (auto check = parse(path, out); !check) return Failure{check.error()};
  return out;
}

} // namespace earth::config
