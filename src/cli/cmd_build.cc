// `earth [flags] +TARGET [--ARG=value...]`: resolve, then build (or, with
// --dry-run, print what would be built). The request is read by the request
// library; this file is the wiring.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/base/kill_point.h"
#include "earth/base/profile.h"
#include "earth/base/strings.h"
#include "earth/build/build.h"
#include "earth/build/journal.h"
#include "earth/cli/commands.h"
#include "earth/exec/linux_runtime.h"
#include "earth/image/image_store.h"
#include "earth/output/status.h"
#include "earth/request/build_request.h"
#include "earth/resolve/resolve.h"
#include "output_choice.h"
#include "request_journal.h"
#include "settings.h"

namespace earth::cli {

using request::BuildRequest;

namespace {

// The commit HEAD names in the git checkout holding `dir`, read from .git's
// files (no `git` process: this runs on every build that saves an image);
// empty when `dir` is not in a checkout.
// `seen`, when set, gets every path looked at, before it is read.
std::string git_head(std::string dir, build::JournalRecorder* seen = nullptr) {
  auto look = [&](const std::string& path) -> const std::string& {
    if (seen) seen->note_path(path);
    return path;
  };
  for (;; dir = fs::dirname(dir)) {
    std::string git = fs::join(dir, ".git");
    if (fs::is_dir(look(git))) break;
    if (auto text = fs::read_file(git); text && text->starts_with("gitdir: ")) {
      std::string to = std::string(trim(text->substr(8)));
      dir = to.starts_with("/") ? fs::dirname(to) : fs::dirname(fs::join(dir, to));
      break;
    }
    if (dir == "/" || dir.empty()) return {};
  }
  std::string git = fs::join(dir, ".git");
  if (!fs::is_dir(git)) return {};
  auto head = fs::read_file(look(fs::join(git, "HEAD")));
  if (!head) return {};
  std::string h(trim(*head));
  if (!h.starts_with("ref: ")) return h;
  std::string ref = h.substr(5);
  if (auto sha = fs::read_file(look(fs::join(git, ref)))) return std::string(trim(*sha));
  if (auto packed = fs::read_file(look(fs::join(git, "packed-refs"))))
    for (const auto& line : split(*packed, '\n'))
      if (line.size() > 41 && line.substr(41) == ref) return line.substr(0, 40);
  return {};
}

// The SSH agent RUN --ssh forwards: --ssh-auth-sock, else
// $EARTH_SSH_AUTH_SOCK, else $EARTHLY_SSH_AUTH_SOCK, else $SSH_AUTH_SOCK.
std::string ssh_agent_socket() {
  if (!globals().ssh_auth_sock.empty()) return globals().ssh_auth_sock;
  for (const char* name : {"EARTH_SSH_AUTH_SOCK", "EARTHLY_SSH_AUTH_SOCK", "SSH_AUTH_SOCK"})
    if (const char* v = std::getenv(name); v && *v) return v;
  return {};
}

build::BuildOptions build_options(const BuildRequest& req, build::JournalRecorder* journal) {
  build::BuildOptions opts;
  opts.cache_dir = image::ImageStore::default_cache_dir();
  opts.jobs = req.jobs;
  opts.no_cache = req.no_cache;
  opts.allow_privileged = req.allow_privileged;
  opts.no_output = req.no_output;
  opts.strict = req.strict;
  opts.push = req.options.push;
  opts.secrets = req.secrets;
  opts.secret_provider = settings().secret_provider;
  opts.ssh_auth_sock = ssh_agent_socket();
  if (!req.artifact.empty()) {
    opts.only_artifact = req.artifact.substr(req.artifact.find('/', req.artifact.find('+')));
    opts.only_artifact_dest = req.artifact_dest.empty() ? "." : req.artifact_dest;
  }
  opts.only_image = req.image_only;
  opts.resolve = &req.options;
  opts.explain = req.explain;
  opts.version = req.options.version;
  opts.journal = journal;
  std::string project = req.options.project_dir;
  opts.git_sha = [project, journal] {
    return git_head(project.starts_with("/") ? project
                                             : fs::normalize(fs::join(fs::current_dir(), project)),
                    journal);
  };
  return opts;
}

bool debug_keys = false; // set by `earth debug keys`

void run_build(const resolve::Graph& graph, const BuildRequest& req, Profile& profile,
               RequestJournal& journal, build::JournalRecorder* recorder) {
  build::BuildOptions opts = build_options(req, recorder);
  opts.debug_keys = debug_keys;
  opts.names = journal.partial_names();
  exec::kill_runs_on_signals(); // first: the store's temp-file cleanup chains to it
  auto store = profile.time("store", [&] { return image::ImageStore::open(opts.cache_dir); });
  if (!store) throw Error(store.error(), ExitCode::internal_error);
  if (recorder) (*store)->watch_index(recorder); // the build's own image names
  exec::LinuxRuntime runtime;
  auto status = make_status({req.progress, req.verbose, req.github_annotations});
  build::BuildServices services{runtime, **store, journal.events(*status), &profile};
  output::BuildTotals totals;
  try {
    totals = build::build(graph, opts, services);
  } catch (const Error& e) {
    // A failed build made entries too; an interrupted one stops at once.
    if (e.code() != ExitCode::interrupted) try_enforce_cache_limit(opts.cache_dir);
    throw;
  }
  journal.finish(profile); // before the size limit, which may prune what it lists
  profile.time("limit", [&] { enforce_cache_limit(opts.cache_dir, totals.steps_run > 0); });
}

} // namespace

// The driver, as a list of timed passes (--profile prints them): parse the
// request; answer it from its journal when every path it lists is
// unchanged; else load + parse + resolve the Earthfiles, then open the
// store and build (open, execute, export), and journal the result.
int cmd_build(Args& args) {
  Profile profile;
  std::vector<std::string> words = args.rest();
  BuildRequest req = request::parse_build_request(words);
  progress_of(req.progress);                 // a bad value is a usage error, before any work
  if (!req.jobs) req.jobs = settings().jobs; // the config file's global.jobs
  RequestJournal journal(req, image::ImageStore::default_cache_dir(), debug_keys);
  bool answered = profile.time("journal", [&] { return journal.replay(req, profile); });
  if (!answered) {
    build::JournalRecorder* recorder = journal.record(req);
    // Resolve first, so a wrong target or argument is reported as such.
    // A partial build when the journal's changes reach only some targets.
    resolve::Graph graph = profile.time("resolve", [&] {
      if (auto partial = journal.resolve_partial(req.options, profile)) return std::move(*partial);
      return resolve::resolve(req.target, req.options);
    });
    kill_point("resolved");
    if (req.dry_run) {
      std::fputs(resolve::dry_run_text(graph).c_str(), stdout);
    } else {
      start_work(); // a failure from here on is the build's (exit 1), not a usage error
      run_build(graph, req, profile, journal, recorder);
    }
  }
  if (req.profile) {
    std::fprintf(stderr, "earth --profile:\n");
    profile.print(stderr);
  }
  return 0;
}

// `earth debug keys [flags] +TARGET`: the build, every target walked step by
// step, with each key's typed fields printed (stdout) as the target ends.
int cmd_debug_keys(Args& args) {
  debug_keys = true;
  return cmd_build(args);
}

} // namespace earth::cli
