// `earth graph [TARGET] [--format dot|json|text] [--ARG=value...]`: prints the
// resolved target DAG (of every target of ./Earthfile without TARGET). Remote
// references show as placeholder nodes.
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/request/build_request.h"
#include "earth/resolve/resolve.h"
#include "earth/syntax/parser.h"

namespace earth::cli {

int cmd_graph(Args& args) {
  std::string format = args.option("--format");
  if (format.empty()) format = "dot";
  if (format != "dot" && format != "json" && format != "text")
    throw Error("earth graph: --format must be dot, json or text");
  std::vector<std::string> words = args.rest();
  bool all = words.empty() || words[0].starts_with("-");
  if (all) words.insert(words.begin(), "+base");
  request::BuildRequest req = request::parse_build_request(words);
  req.options.allow_remote = true;
  std::vector<std::string> targets{req.target};
  if (all) {
    // Every target of ./Earthfile; required ARGs get a placeholder.
    req.options.placeholder_required = true;
    if (std::string path = syntax::earthfile_in("."); !path.empty())
      for (const auto& t : syntax::parse_file_or_throw(path).targets)
        targets.push_back("+" + t.name);
    if (targets.size() > 1) targets.erase(targets.begin());
  }
  resolve::Graph graph = resolve::resolve_all(targets, req.options);
  std::string out = format == "dot"    ? resolve::to_dot(graph)
                    : format == "json" ? resolve::to_json(graph)
                                       : resolve::dry_run_text(graph);
  std::fputs(out.c_str(), stdout);
  return 0;
}

} // namespace earth::cli
