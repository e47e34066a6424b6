// `earth graph [TARGET] [--format dot|json|text] [--ARG=value...]`: prints the
// resolved target DAG. Remote references show as placeholder nodes.
#include <cstdio>

#include "build_request.h"
#include "earth/base/error.h"
#include "earth/cli/commands.h"
#include "earth/resolve/resolve.h"

namespace earth::cli {

int cmd_graph(Args& args) {
  std::string format = args.option("--format");
  if (format.empty()) format = "dot";
  if (format != "dot" && format != "json" && format != "text")
    throw Error("earth graph: --format must be dot, json or text");
  std::vector<std::string> words = args.rest();
  if (words.empty()) words.push_back("+base");
  BuildRequest req = parse_build_request(words);
  req.options.allow_remote = true;
  resolve::Graph graph = resolve::resolve(req.target, req.options);
  std::string out = format == "dot"    ? resolve::to_dot(graph)
                    : format == "json" ? resolve::to_json(graph)
                                       : resolve::dry_run_text(graph);
  std::fputs(out.c_str(), stdout);
  return 0;
}

} // namespace earth::cli
