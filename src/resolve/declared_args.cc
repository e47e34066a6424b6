// The static ARG listing for `earth ls -a`.
#include "earth/base/strings.h"
#include "earth/resolve/resolve.h"

namespace earth::resolve {

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
