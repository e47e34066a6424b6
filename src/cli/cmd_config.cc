// `earth config KEY VALUE [--dry-run]`: sets one key of the config file,
// keeping its comments (config::set_key), written atomically.
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/config/config.h"
#include "earth/request/build_request.h"
#include "settings.h"

namespace earth::cli {

int cmd_config(Args& args) {
  bool dry_run = args.flag("--dry-run");
  std::string flag = args.option("--config");
  if (flag.empty()) flag = globals().config;
  auto words = args.positional("config");
  if (words.size() != 2)
    throw Error("usage: earth config KEY VALUE [--dry-run] (see earth config --help)");
  std::string path = config::config_path(flag, request::process_env);
  std::string text;
  if (fs::exists(path)) text = fs::read_file(path).take();
  auto edited = config::set_key(path, text, words[0], words[1]);
  if (!edited) throw Error(edited.error(), ExitCode::usage_error);
  if (dry_run) {
    std::fputs(edited->c_str(), stdout);
    return 0;
  }
  start_work();
  fs::make_dirs(fs::dirname(path)).take();
  fs::write_file_atomic(path, *edited, 0600).take();
  std::fprintf(stderr, "earth config: set %s in %s\n", words[0].c_str(), path.c_str());
  return 0;
}

} // namespace earth::cli
