#include "earth/resolve/command_flags.h"

#include <algorithm>

#include <fmt/format.h>

#include "resolver.h"

namespace earth::resolve {

Result<CommandFlags> parse_command_flags(std::string_view command,
                                         const std::vector<std::string>& words,
                                         std::initializer_list<std::string_view> valued,
                                         std::initializer_list<std::string_view> boolean,
                                         const ExpandFn& expand_bool) {
  CommandFlags f;
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (!w.starts_with("--")) break;
    size_t eq = w.find('=');
    std::string name = w.substr(0, eq);
    bool is_valued = std::find(valued.begin(), valued.end(), name) != valued.end();
    bool is_bool = std::find(boolean.begin(), boolean.end(), name) != boolean.end();
    if (is_valued) {
      if (eq != std::string::npos)
        f.values.emplace_back(name, w.substr(eq + 1));
      else if (i + 1 < words.size())
        f.values.emplace_back(name, words[++i]);
      else
        return Failure{fmt::format("{} {} needs a value", command, name)};
    } else if (is_bool) {
      std::string v = eq == std::string::npos ? "true" : w.substr(eq + 1);
      if (expand_bool && eq != std::string::npos) v = expand_bool(v);
      if (expand_bool && v != "true" && v != "false")
        return Failure{fmt::format("{} {} needs true or false, not '{}'", command, name, v)};
      if (v == "true") f.bools.push_back(name);
    } else if (name == "--from" && command == "COPY") {
      return Failure{"COPY --from is not supported; use COPY +target/path instead"};
    } else {
      return Failure{fmt::format("unknown flag {} for {}", name, command)};
    }
  }
  f.next = i;
  return f;
}

Flags Resolver::parse_flags(FileId file, const syntax::Span& span, const std::string& command,
                            const std::vector<std::string>& words,
                            std::initializer_list<std::string_view> valued,
                            std::initializer_list<std::string_view> boolean) const {
  auto f = parse_command_flags(command, words, valued, boolean);
  if (!f) fail(file, span, f.error());
  return std::move(f).value();
}

RefFlags Resolver::parse_ref_flags(FileId file, const syntax::Span& span,
                                   const std::string& command,
                                   const std::vector<std::string>& words,
                                   std::initializer_list<std::string_view> valued,
                                   std::initializer_list<std::string_view> boolean) const {
  Flags flags = parse_flags(file, span, command, words, valued, boolean);
  RefFlags f;
  f.platforms = flags.all("--platform");
  for (const auto& arg : flags.all("--build-arg")) f.build_args.push_back("--" + arg);
  f.loads = flags.all("--load");
  f.pass_args = flags.has("--pass-args");
  f.next = flags.next;
  return f;
}

} // namespace earth::resolve
