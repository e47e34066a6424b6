// CLI build args (reference §2.2, §4.6): the .arg file, the environment,
// --build-arg and the flags after the target.
#include <cstdlib>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/request/build_request.h"
#include "earth/resolve/reference.h"

namespace earth::request {

namespace {

void add(std::vector<std::pair<std::string, std::string>>& out, std::string_view kv,
         const std::string& origin) {
  size_t eq = kv.find('=');
  std::string name(trim(kv.substr(0, eq)));
  // As Earthly: a name that is no identifier is passed unchecked (no ARG
  // can declare it, so it is simply unused); only an empty one is an error.
  if (name.empty())
    throw Error(fmt::format("invalid build arg '{}' in {}: use NAME=value", kv, origin));
  out.emplace_back(name,
                   eq == std::string_view::npos ? std::string() : std::string(kv.substr(eq + 1)));
}

} // namespace

std::vector<std::pair<std::string, std::string>>
collect_overrides(const std::string& arg_file, const std::vector<std::string>& build_arg_values,
                  const std::vector<std::string>& flags, const EnvLookup& env) {
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
  for (const char* name : {"EARTHLY_BUILD_ARGS", "EARTH_BUILD_ARGS"})
    if (auto v = env(name))
      for (const auto& kv : split(*v, ','))
        if (!trim(kv).empty()) add(out, trim(kv), name);
  for (const auto& kv : build_arg_values) add(out, kv, "--build-arg");
  auto parsed = resolve::parse_build_arg_flags(flags);
  if (!parsed.ok()) throw Error(parsed.error());
  for (const auto& f : *parsed) {
    if (!f.value)
      throw Error(
          fmt::format("--{} needs a value on the command line (--{}=value)", f.name, f.name));
    out.emplace_back(f.name, *f.value);
  }
  return out;
}

} // namespace earth::request
