// Reading config.yml and .env.
#include "earth/config/config.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/syntax/diagnostic.h"
#include "located.h"
#include "schema.h"

namespace earth::config {

std::string located_error(const std::string& path, const std::string& text, const YAML::Mark& m,
                          size_t width, const std::string& message, const std::string& note) {
  syntax::Diagnostic d;
  d.path = path;
  if (m.line >= 0) {
    auto line = static_cast<uint32_t>(m.line + 1), col = static_cast<uint32_t>(m.column + 1);
    d.span = {{line, col}, {line, col + static_cast<uint32_t>(width ? width - 1 : 0)}};
  }
  d.message = message;
  if (!note.empty()) d.notes.push_back({"", {}, note});
  syntax::SourceFile source(path, text);
  std::string out = syntax::render(d, &source, false);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

std::vector<std::string> names_of(const SectionSpec& s) {
  std::vector<std::string> out;
  for (const auto& k : s.keys)
    if (!k.ignored) out.emplace_back(k.name);
  return out;
}

std::string allowed(const std::vector<std::string>& names, std::string_view word) {
  std::string best;
  size_t best_d = 4;
  for (const auto& n : names)
    if (size_t d = edit_distance(word, n); d < best_d && d <= std::max<size_t>(1, word.size() / 3))
      best = n, best_d = d;
  return (best.empty() ? "" : "did you mean " + best + "? ") + "allowed: " + join(names, ", ");
}

// Checks one section's mapping and copies what earth uses into `out`.
class Checker {
public:
  Checker(const std::string& path, const std::string& text) : path_(path), text_(text) {}
  Result<Config> run(const YAML::Node& root);

private:
  std::string error(const YAML::Node& at, const std::string& message, const std::string& note,
                    size_t width = 1) const {
    return located_error(path_, text_, at.Mark(), width, message, note);
  }
  std::string section(const SectionSpec& s, const YAML::Node& key, const YAML::Node& node,
                      const std::string& where);
  void use(const std::string& where, const std::string& key, const YAML::Node& v);

  const std::string& path_;
  const std::string& text_;
  Config config_;
  unsigned earthly_jobs_ = 0;
};

Result<Config> Checker::run(const YAML::Node& root) {
  config_.path = path_;
  if (!root || root.IsNull()) return config_;
  if (!root.IsMap()) return Failure{error(root, "expected a mapping of sections", "")};
  std::vector<std::string> names;
  for (const auto& s : sections()) names.emplace_back(s.name);
  for (const auto& kv : root) {
    std::string name = kv.first.Scalar();
    const SectionSpec* s = find_section(name);
    if (!s)
      return Failure{
          error(kv.first, "unknown section '" + name + "'", allowed(names, name), name.size())};
    if (s->ignored) continue;
    if (s->named) {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap())
        return Failure{error(kv.second, name + ": expected a mapping of host names", "")};
      for (const auto& host : kv.second)
        if (auto e = section(*s, host.first, host.second, name + "." + host.first.Scalar());
            !e.empty())
          return Failure{e};
    } else if (auto e = section(*s, kv.first, kv.second, name); !e.empty()) {
      return Failure{e};
    }
  }
  if (!config_.jobs) config_.jobs = earthly_jobs_;
  return config_;
}

std::string Checker::section(const SectionSpec& s, const YAML::Node& key, const YAML::Node& node,
                             const std::string& where) {
  if (node.IsNull()) return "";
  if (!node.IsMap()) return error(node, where + ": expected a mapping", "");
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    const KeySpec* k = find_key(s, name);
    if (!k)
      return error(kv.first, "unknown key '" + name + "' in " + where,
                   allowed(names_of(s), name) + (s.keys.size() > names_of(s).size()
                                                     ? ", and Earthly's keys (docs/cli.md)"
                                                     : ""),
                   name.size());
    if (auto e = check_value(*k, kv.second); !e.empty())
      return error(kv.second, where + "." + name + ": " + e, "");
    if (!k->ignored) use(where, name, kv.second);
  }
  return "";
}

void Checker::use(const std::string& where, const std::string& key, const YAML::Node& v) {
  if (where != "global") return; // registries and pull: read by the image module
  if (key == "cache_dir") config_.cache_dir = v.Scalar();
  if (key == "cache_size_mb") config_.cache_size_mb = v.as<uint64_t>();
  if (key == "cache_size_pct") config_.cache_size_pct = v.as<unsigned>();
  if (key == "jobs") config_.jobs = v.as<unsigned>();
  if (key == "buildkit_max_parallelism") earthly_jobs_ = v.as<unsigned>();
  if (key == "secret_provider") config_.secret_provider = v.Scalar();
}

} // namespace

Result<YAML::Node> load_yaml(const std::string& path, const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return Failure{located_error(path, text, e.mark, 1, "not valid YAML: " + e.msg, "")};
  }
}

std::string config_path(const std::string& flag, const EnvLookup& env) {
  if (!flag.empty()) return flag;
  for (const char* name : {"EARTH_CONFIG", "EARTHLY_CONFIG"})
    if (auto v = env(name); v && !v->empty()) return *v;
  auto home = env("HOME");
  std::string dir = home && !home->empty() ? *home : "/";
  std::string earth = fs::join(dir, ".earth/config.yml");
  std::string earthly = fs::join(dir, ".earthly/config.yml");
  return !fs::exists(earth) && fs::exists(earthly) ? earthly : earth;
}

Result<Config> parse(const std::string& path, const std::string& text) {
  auto root = load_yaml(path, text);
  if (!root) return Failure{root.error()};
  return Checker(path, text).run(*root);
}

Result<Config> load(const std::string& path) {
  if (!fs::exists(path)) return Config{};
  auto text = fs::read_file(path);
  if (!text) return Failure{text.error()};
  return parse(path, *text);
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& s : sections())
    for (const auto& k : s.keys)
      if (!k.ignored)
        out.push_back(std::string(s.name) + (s.named ? ".HOST." : ".") + std::string(k.name));
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> read_dotenv(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!fs::exists(path)) return out;
  auto text = fs::read_file(path);
  if (!text) return Failure{text.error()};
  auto lines = split(*text, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    std::string_view l = trim(lines[n]);
    if (l.starts_with("export ")) l = trim(l.substr(7));
    if (l.empty() || l[0] == '#') continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos || trim(l.substr(0, eq)).empty())
      return Failure{fmt::format("{}:{}: expected KEY=value, not '{}'", path, n + 1, l)};
    out.emplace_back(std::string(trim(l.substr(0, eq))), std::string(l.substr(eq + 1)));
  }
  return out;
}

} // namespace earth::config
