// Shell completion: `earth --completion bash|zsh` prints a small script whose
// function asks `earth __complete WORDS...` for the candidates of the last
// word, so the logic (flags, commands, the targets of ./Earthfile after '+')
// lives here, in one place, for both shells.
#include <algorithm>
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/strings.h"
#include "earth/cli/commands.h"
#include "earth/config/config.h"
#include "earth/output/status.h"
#include "earth/request/flags.h"
#include "earth/syntax/parser.h"
#include "earth/syntax/summary.h"
#include "help.h"

namespace earth::cli {

namespace {

constexpr const char* kBash = R"(# earth completion for bash: source <(earth --completion bash)
_earth() {
  local IFS=$'\n'
  COMPREPLY=($(earth __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  # a space after each word but a build arg's "--NAME=" and -a's "+t/"
  [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} != *[=/] ]] && COMPREPLY[0]+=" "
}
complete -o default -o nospace -F _earth earth
)";

constexpr const char* kZsh = R"(#compdef earth
# earth completion for zsh: source <(earth --completion zsh) after compinit,
# or save as _earth in a directory of $fpath.
_earth() {
  local -a c
  c=("${(@f)$(earth __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n ${c[1]} ]]; then compadd -S '' -- "${(@M)c:#*[=/]}"; compadd -- "${(@)c:#*[=/]}"; else _files; fi
}
if [[ "$funcstack[1]" == "_earth" ]]; then _earth "$@"; else compdef _earth earth; fi
)";

std::vector<std::string> global_flags() {
  std::vector<std::string> out;
  for (const auto& f : request::build_flags())
    if (!f.help.empty()) out.emplace_back(f.name);
  for (const char* g : {"--help", "--version", "--completion"}) out.emplace_back(g);
  return out;
}

// The targets for a word holding '+': "./dir+bu" completes from ./dir.
std::vector<std::string> targets_for(const std::string& word) {
  std::string dir = word.substr(0, word.find('+'));
  std::vector<std::string> out;
  for (const auto& t : local_targets(dir.empty() ? "." : dir)) out.push_back(dir + t);
  return out;
}

// The build args of target word `ref` ("+t", "./dir+t"): "--NAME=".
std::vector<std::string> build_args_of(const std::string& ref) {
  std::vector<std::string> out;
  size_t plus = ref.rfind('+');
  std::string dir = ref.substr(0, plus);
  std::string path = syntax::earthfile_in(dir.empty() ? "." : dir);
  if (path.empty()) return out;
  auto text = syntax::read_earthfile(path);
  if (!text) return out;
  syntax::SourceFile source(path, *text);
  auto parsed = syntax::parse_syntax_only(source);
  std::string name = ref.substr(plus + 1);
  const syntax::Block* recipe = &parsed.earthfile.base_recipe;
  if (name != "base") {
    const syntax::Target* t = parsed.earthfile.find_target(name);
    if (!t) return out;
    recipe = &t->recipe;
  }
  for (const auto& a : syntax::summarize(*recipe).args) out.push_back("--" + a.name + "=");
  return out;
}

// The values of valued build flag `f` where earth knows them, else none (the
// shell then offers files: --config, --arg-file-path).
std::vector<std::string> flag_values(const request::FlagSpec& f, const std::string& cur) {
  if (f.name == "--progress") return output::progress_names();
  if (f.name == "--image") return targets_for(cur);
  if (f.name != "--artifact") return {};
  std::vector<std::string> out = targets_for(cur); // "+t/": the path follows, no space
  for (auto& t : out) t += '/';
  return out;
}

// The candidates for the last word, given the words before it.
std::vector<std::string> candidates(const std::vector<std::string>& before,
                                    const std::string& cur) {
  // After the target, words are its build args.
  for (const auto& w : before)
    if (!w.starts_with("-") && w.find('+') != std::string::npos)
      return cur.starts_with("-") ? build_args_of(w) : std::vector<std::string>{};
  // The subcommand named by the leading words, if any.
  const Subcommand* cmd = nullptr;
  std::string path;
  for (const auto& w : before) {
    if (w.starts_with("-")) break;
    path += (path.empty() ? "" : " ") + w;
    for (const auto& c : subcommands())
      if (c.path == path) cmd = &c;
  }
  // The value of a valued build flag.
  if (!cmd && !before.empty())
    if (const auto* f = request::find_build_flag(before.back());
        f && f->kind == request::FlagSpec::Kind::valued)
      return flag_values(*f, cur);
  if (cur.find('+') != std::string::npos) return targets_for(cur);
  if (cmd && cmd->path == "config" && !cur.starts_with("-")) return config::known_keys();
  if (cur.starts_with("-")) return cmd ? flags_in_usage(cmd->usage) : global_flags();
  if (!before.empty() && before.back() == "--completion") return {"bash", "zsh"};
  std::vector<std::string> out;
  std::string prefix = path.empty() ? "" : path + " ";
  for (const auto& c : subcommands()) {
    if (c.path.starts_with("__") || !c.path.starts_with(prefix)) continue;
    std::string next(c.path.substr(prefix.size()));
    next = next.substr(0, next.find(' '));
    if (!next.empty() && std::find(out.begin(), out.end(), next) == out.end()) out.push_back(next);
  }
  if (!cmd)
    for (auto& t : local_targets(".")) out.push_back(std::move(t));
  return out;
}

} // namespace

int print_completion(const std::vector<std::string>& words) {
  std::string shell = words.size() > 1 ? words[1] : "";
  if (shell == "bash") return std::fputs(kBash, stdout), 0;
  if (shell == "zsh") return std::fputs(kZsh, stdout), 0;
  throw Error("earth --completion: expected bash or zsh, not '" + shell + "'",
              ExitCode::usage_error);
}

int cmd_complete(Args& args) {
  std::vector<std::string> words = args.rest();
  std::string cur = words.empty() ? "" : words.back();
  if (!words.empty()) words.pop_back();
  for (const auto& c : candidates(words, cur))
    if (c.starts_with(cur)) std::printf("%s\n", c.c_str());
  return 0;
}

} // namespace earth::cli
