// Subcommands that only need the parser: ls, doc, debug ast.
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/syntax/ast_json.h"
#include "earth/syntax/parser.h"

namespace earth::cli {

namespace {

// PATH may name an Earthfile or its directory; `build.earth` is the legacy
// fallback name.
std::string find_earthfile(const std::string& path) {
  std::string dir = path.empty() ? "." : path;
  if (!fs::is_dir(dir)) {
    if (fs::exists(dir)) return dir;
    throw Error("no such directory: " + dir);
  }
  for (const char* name : {"Earthfile", "build.earth"}) {
    std::string candidate = fs::join(dir, name);
    if (fs::exists(candidate)) return candidate;
  }
  throw Error("no Earthfile in " + dir);
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
  std::printf("%s\n", syntax::to_json(file, source_map).dump(2).c_str());
  return 0;
}

int cmd_ls(Args& args) {
  bool with_args = args.flag("--args", "-a");
  bool long_refs = args.flag("--long", "-l");
  (void)with_args;
  (void)long_refs;
  std::string path = find_earthfile(single_path(args, "ls"));
  auto file = syntax::parse_file_or_throw(path);
  for (const auto& t : file.targets) std::printf("+%s\n", t.name.c_str());
  return 0;
}

int cmd_doc(Args& args) {
  args.flag("--long", "-l");
  std::string path = find_earthfile(single_path(args, "doc"));
  auto file = syntax::parse_file_or_throw(path);
  for (const auto& t : file.targets)
    if (!t.docs.empty()) std::printf("+%s\n  %s\n", t.name.c_str(), t.docs.c_str());
  return 0;
}

} // namespace earth::cli
