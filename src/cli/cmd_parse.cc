// Subcommands that only need the parser: ls, doc, debug ast.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/syntax/ast_json.h"
#include "earth/syntax/parser.h"
#include "earth/syntax/summary.h"

namespace earth::cli {

namespace {

// PATH may name an Earthfile or its directory; `build.earth` is the legacy
// fallback name.
std::string find_earthfile(const std::string& path) {
  std::string dir = path.empty() ? "." : path;
  if (!fs::is_dir(dir)) {
    if (fs::exists(dir)) return dir;
    // Only a missing path is "no such directory"; EACCES and the like say so.
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 && errno != ENOENT && errno != ENOTDIR)
      throw Error(errno_message(dir, errno));
    throw Error("no such directory: " + dir);
  }
  std::string found = syntax::earthfile_in(dir);
  if (found.empty()) throw Error("no Earthfile in " + dir);
  return found;
}

std::string single_path(Args& args, std::string_view command) {
  auto rest = args.positional(command);
  if (rest.size() > 1) throw Error("earth " + std::string(command) + ": expected at most one PATH");
  return rest.empty() ? std::string() : rest[0];
}

} // namespace

int cmd_debug_ast(Args& args) {
  bool source_map = args.flag("--source-map");
  std::string path = find_earthfile(single_path(args, "debug ast"));
  auto file = syntax::parse_file_or_throw(path);
  std::printf("%s\n", syntax::to_json(file, source_map)
                          .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                          .c_str());
  return 0;
}

namespace {

// The recipe of `name` ("base" is the base recipe), or null.
const syntax::Block* recipe_of(const syntax::Earthfile& file, std::string_view name) {
  if (name == "base") return &file.base_recipe;
  const syntax::Target* t = file.find_target(name);
  return t ? &t->recipe : nullptr;
}

std::string ref_prefix(const std::string& dir, bool long_refs) {
  if (!long_refs) return "";
  std::string prefix = dir.empty() ? "." : fs::normalize(dir);
  if (prefix != "." && !prefix.starts_with("/") && !prefix.starts_with("./") &&
      !prefix.starts_with("../"))
    prefix = "./" + prefix;
  return prefix;
}

// Earthly's ARG listing: "  --NAME", required ones marked.
void print_args(const syntax::RecipeSummary& s) {
  for (const auto& a : s.args) {
    if (a.global) continue;
    std::printf("  --%s%s\n", a.name.c_str(), a.required ? " (required)" : "");
  }
}

} // namespace

int cmd_ls(Args& args) {
  bool with_args = args.flag("--args", "-a");
  bool long_refs = args.flag("--long", "-l");
  std::string dir = single_path(args, "ls");
  auto file = syntax::parse_file_or_throw(find_earthfile(dir));
  std::vector<std::string> names = {"base"};
  for (const auto& t : file.targets) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  std::string prefix = ref_prefix(dir, long_refs);
  for (const auto& name : names) {
    std::printf("%s+%s\n", prefix.c_str(), name.c_str());
    if (with_args) print_args(syntax::summarize(*recipe_of(file, name)));
  }
  return 0;
}

namespace {

// Earthly shows a target's docs only when they start with the target's name
// ("# build compiles the app"), the Go doc-comment convention.
bool documents(const syntax::Target& t) {
  std::string_view d = t.docs;
  return d.starts_with(t.name) &&
         (d.size() == t.name.size() || d[t.name.size()] == ' ' || d[t.name.size()] == '\n');
}

void print_indented(std::string_view text, const char* indent) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    std::printf("%s%.*s\n", line.empty() ? "" : indent, static_cast<int>(line.size()), line.data());
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

void print_doc(const syntax::Target& t, bool long_form) {
  auto s = syntax::summarize(t.recipe);
  std::string usage = "+" + t.name;
  for (const auto& a : s.args) {
    if (a.global) continue;
    usage += a.required ? " --" + a.name + "=<" + a.name + ">"
                        : " [--" + a.name + "=" + (a.has_default ? a.default_value : "") + "]";
  }
  std::printf("%s\n", usage.c_str());
  print_indented(t.docs, "  ");
  if (!long_form) return;
  auto section = [](const char* title, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    std::printf("\n  %s:\n", title);
    for (const auto& l : lines) std::printf("    %s\n", l.c_str());
  };
  std::vector<std::string> required, optional, artifacts, local, images;
  for (const auto& a : s.args) {
    if (a.global) continue;
    std::string line = "--" + a.name;
    if (a.has_default) line += " (default " + a.default_value + ")";
    (a.required ? required : optional).push_back(line);
  }
  for (const auto& a : s.artifacts) {
    artifacts.push_back("+" + t.name + a.path);
    if (!a.local_path.empty()) local.push_back(a.local_path);
  }
  section("REQUIRED ARGS", required);
  section("OPTIONAL ARGS", optional);
  section("ARTIFACTS", artifacts);
  section("LOCAL ARTIFACTS", local);
  section("IMAGES", s.images);
  std::printf("\n");
}

} // namespace

int cmd_doc(Args& args) {
  bool long_form = args.flag("--long", "-l");
  std::string spec = single_path(args, "doc");
  std::string dir = spec, target;
  if (size_t plus = spec.rfind('+'); plus != std::string::npos) {
    dir = spec.substr(0, plus);
    target = spec.substr(plus + 1);
  }
  auto file = syntax::parse_file_or_throw(find_earthfile(dir));
  if (!target.empty()) {
    const syntax::Target* t = file.find_target(target);
    if (!t) throw Error("no target +" + target + " in " + find_earthfile(dir));
    print_doc(*t, long_form);
    return 0;
  }
  for (const auto& t : file.targets)
    if (documents(t)) print_doc(t, long_form);
  return 0;
}

} // namespace earth::cli
