// `earth [flags] +TARGET [--ARG=value...]`: resolve, then build (or, with
// --dry-run, print what would be built).
#include <cstdio>
#include <thread>

#include "earth/base/error.h"
#include "earth/build/build.h"
#include "earth/cli/commands.h"
#include "earth/exec/linux_runtime.h"
#include "earth/image/image_store.h"
#include "earth/output/status.h"
#include "earth/request/build_request.h"
#include "earth/resolve/resolve.h"
#include "interrupts.h"

namespace earth::cli {

int cmd_build(Args& args) {
  std::vector<std::string> words = args.rest();
  request::BuildRequest req = request::parse_build_request(words);
  // Resolve first, so a wrong target or argument is reported as such.
  resolve::Graph graph = resolve::resolve(req.target, req.options);
  if (req.dry_run) {
    std::fputs(resolve::dry_run_text(graph).c_str(), stdout);
    return 0;
  }
  build::BuildOptions opts;
  opts.cache_dir = image::ImageStore::default_cache_dir();
  opts.jobs = req.jobs;
  opts.no_cache = req.no_cache;
  opts.allow_privileged = req.allow_privileged;
  opts.no_output = req.no_output;
  opts.strict = req.strict;
  opts.push = req.options.push;
  if (!req.artifact.empty()) {
    opts.only_artifact = req.artifact.substr(req.artifact.find('/', req.artifact.find('+')));
    opts.only_artifact_dest = req.artifact_dest.empty() ? "." : req.artifact_dest;
  }
  opts.only_image = req.image_only;
  auto store = image::ImageStore::open(opts.cache_dir);
  if (!store) throw Error(store.error());
  exec::LinuxRuntime runtime;
  auto status = output::make_plain_status(stderr, req.verbose);
  build::BuildServices services{runtime, **store, *status};
  install_interrupt_handlers();
  build::build(graph, opts, services);
  return 0;
}

} // namespace earth::cli
