// CLI build args (reference §2.2, §4.6) and the static ARG listing for ls -a.
#include <cstdlib>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/resolve.h"

namespace earth::resolve {

namespace {

void add(std::vector<std::pair<std::string, std::string>>& out, std::string_view kv,
         const std::string& origin) {
  size_t eq = kv.find('=');
  std::string name(trim(kv.substr(0, eq)));
  if (name.empty()) return;
  if (!is_valid_arg_name(name))
    throw Error(fmt::format("invalid build arg '{}' in {}", kv, origin));
  out.emplace_back(name,
                   eq == std::string_view::npos ? std::string() : std::string(kv.substr(eq + 1)));
}

} // namespace

std::vector<std::pair<std::string, std::string>>
collect_overrides(const std::string& arg_file, const std::vector<std::string>& build_arg_values,
                  const std::vector<std::string>& flags) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!arg_file.empty() && fs::exists(arg_file)) {
    auto text = fs::read_file(arg_file);
    if (!text.ok()) throw Error(text.error());
    for (const auto& line : split(*text, '\n')) {
      std::string_view l = trim(line);
      if (l.empty() || l[0] == '#') continue;
      add(out, l, arg_file);
    }
  }
  for (const char* env : {"EARTHLY_BUILD_ARGS", "EARTH_BUILD_ARGS"})
    if (const char* v = std::getenv(env))
      for (const auto& kv : split(v, ','))
        if (!trim(kv).empty()) add(out, trim(kv), env);
  for (const auto& kv : build_arg_values) add(out, kv, "--build-arg");
  auto parsed = parse_build_arg_flags(flags);
  if (!parsed.ok()) throw Error(parsed.error());
  for (const auto& f : *parsed) {
    if (!f.value)
      throw Error(
          fmt::format("--{} needs a value on the command line (--{}=value)", f.name, f.name));
    out.emplace_back(f.name, *f.value);
  }
  return out;
}

std::vector<ArgDecl> declared_args(const syntax::Block& recipe) {
  std::vector<ArgDecl> out;
  for (const auto& st : recipe) {
    const auto* cmd = std::get_if<syntax::Command>(&st.node);
    if (!cmd || cmd->name != "ARG") continue;
    ArgDecl d;
    size_t i = 0;
    for (; i < cmd->args.size() && cmd->args[i].starts_with("--"); ++i) {
      d.required |= cmd->args[i] == "--required";
      d.global |= cmd->args[i] == "--global";
    }
    if (i >= cmd->args.size()) continue;
    std::string name = cmd->args[i];
    if (size_t eq = name.find('='); eq != std::string::npos) {
      d.has_default = true;
      d.default_text = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < cmd->args.size()) {
      d.has_default = true;
      std::vector<std::string> rest(cmd->args.begin() + static_cast<long>(i) + 1, cmd->args.end());
      if (!rest.empty() && rest[0] == "=") rest.erase(rest.begin());
      d.default_text = join(rest, " ");
    }
    d.name = std::move(name);
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace earth::resolve
