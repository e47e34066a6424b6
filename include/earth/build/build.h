// The builder (DESIGN.md "build"): runs a resolved graph. Each target
// instance's recipe is interpreted in order, one step at a time; every step
// has a key made of its inputs (plan/keys.h) and a step whose key has a
// stored result is reused without starting a sandbox. Independent targets
// run in parallel. Outputs (SAVE ARTIFACT … AS LOCAL, SAVE IMAGE) of the CLI
// target and its BUILD chain are written only after the whole build
// succeeded.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "earth/base/error.h"
#include "earth/base/profile.h"
#include "earth/exec/runtime.h"
#include "earth/image/image_store.h"
#include "earth/output/status.h"
#include "earth/resolve/graph.h"
#include "earth/resolve/resolve.h"

namespace earth::build {

class JournalRecorder; // journal.h

struct BuildOptions {
  std::string cache_dir;         // the store's directory (steps/, mounts/, tmp/ …)
  unsigned jobs = 0;             // targets built at once; 0: the number of cores
  bool no_cache = false;         // --no-cache: run every step again
  bool allow_privileged = false; // -P: RUN --privileged is allowed
  bool no_output = false;        // --no-output / --ci: write no local outputs
  bool strict = false;           // --strict / --ci
  bool push = false;             // --push
  std::string version = "0.1.0"; // SAVE IMAGE's dev.earthly.version label
  // SAVE IMAGE's dev.earthly.git-sha label: asked once, only when an image
  // is written (it may run git); empty or unset: no label.
  std::function<std::string()> git_sha;
  // --artifact +t/path [dest] and --image +t: output only these.
  std::string only_artifact, only_artifact_dest;
  bool only_image = false;
  // How the build was resolved: references known only at build time
  // (`BUILD $(cat t)`, `FROM +t --X=$(…)`) are resolved with these. Null:
  // they are refused.
  const resolve::Options* resolve = nullptr;
  // id -> value (request/secrets.h): reach RUN --secret and --mount
  // type=secret only; never keyed, stored or shown (shown as ***).
  std::map<std::string, std::string> secrets;
  // global.secret_provider: a command run with the id of a secret not
  // given as its argument; its output is the value (docs/language.md).
  std::string secret_provider;
  // The host's SSH agent socket (--ssh-auth-sock, else SSH_AUTH_SOCK), bound into RUN --ssh,
  // --mount type=ssh and IF/FOR --ssh; empty: no agent (those fail).
  std::string ssh_auth_sock;
  bool explain = false;    // --explain: print why each step runs (stderr)
  bool debug_keys = false; // earth debug keys: walk every target, print its keys' fields (stdout)
  // Set: every path the result depends on is noted in it, and what makes
  // the result more than a function of those stats refuses it (journal.h).
  JournalRecorder* journal = nullptr;
  // A partial build (docs/cache.md#partial-builds): the names its target
  // instances were shown with in the whole build (instance key → name).
  std::map<Digest, std::string> names;
};

// Services the builder uses; tests pass fakes (FakeRuntime, a temp store).
struct BuildServices {
  exec::Runtime& runtime;
  image::ImageStore& images;
  output::Status& status;
  Profile* profile = nullptr; // --profile: the build's passes are timed into it
};

// A failed build: the failing target and step, located, with the last
// lines of the step's output. what() is the rendered message.
class BuildError : public Error {
public:
  explicit BuildError(std::string message, ExitCode code = ExitCode::user_error)
      : Error(std::move(message), code) {}
};

// Builds `graph` (every target reachable from its roots). Throws BuildError
// when a step fails or cannot run; on success returns what was done.
output::BuildTotals build(const resolve::Graph& graph, const BuildOptions& options,
                          BuildServices& services);

} // namespace earth::build
