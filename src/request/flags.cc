// The build flag table (reference §4.2, §4.3) and the helpers around it.
#include "earth/request/flags.h"

#include <algorithm>

namespace earth::request {

namespace {

using K = FlagSpec::Kind;

} // namespace

const std::vector<FlagSpec>& build_flags() {
  static const std::vector<FlagSpec> table = {
      // What is built and what comes out.
      {"--artifact", "-a", K::valued, "",
       "build +t and write only its artifact: -a +t/PATH [DEST]"},
      {"--image", "", K::valued, "", "build +t and save only its images: --image +t"},
      {"--dry-run", "", K::boolean, "", "print what would be built, run nothing"},
      {"--no-output", "", K::boolean, "NO_OUTPUT", "write no artifacts and no images"},
      {"--output", "", K::boolean, "OUTPUT", "write outputs even under --ci"},
      {"--ci", "", K::boolean, "CI", "--no-output --strict"},
      {"--strict", "", K::boolean, "STRICT", "forbid non-repeatable features"},
      {"--push", "", K::boolean, "PUSH", "push SAVE IMAGE --push images, run RUN --push"},
      // How it is built.
      {"--jobs", "-j", K::valued, "JOBS", "targets built at once, 1-1024 (default: the cores)"},
      {"--no-cache", "", K::boolean, "NO_CACHE", "reuse no step (cache mounts are kept)"},
      {"--allow-privileged", "-P", K::boolean, "ALLOW_PRIVILEGED", "allow RUN --privileged"},
      {"--platform", "", K::valued, "PLATFORMS", "the target platform (host only for now)"},
      {"--build-arg", "", K::valued, "", "", false}, // deprecated: K=v; read in build_request.cc
      {"--arg-file-path", "", K::valued, "ARG_FILE_PATH", "the build-arg file (default .arg)"},
      {"--env-file-path", "", K::valued, "ENV_FILE_PATH", "the settings file (default .env)", false,
       true},
      {"--config", "", K::valued, "CONFIG", "the config file (default ~/.earth/config.yml)", false,
       true},
      {"--verbose", "-V", K::boolean, "VERBOSE", "show more of each step"},
      {"--progress", "", K::valued, "PROGRESS", "how progress is shown: auto, tty, plain or json"},
      {"--github-annotations", "", K::boolean, "GITHUB_ANNOTATIONS",
       "group output per target and annotate errors for GitHub Actions"},
      {"--profile", "", K::boolean, "", "print the time of each pass"},
      {"--explain", "", K::boolean, "", "say why each step runs (or is reused)"},
      // Secrets: EARTH_SECRETS and EARTH_SECRET_FILES are read with the
      // other sources (secrets.cc), so they have no env column here.
      {"--secret", "-s", K::valued, "", "a secret: ID=VALUE, or ID (from $ID)"},
      {"--secret-file", "", K::valued, "", "a secret from a file: ID=PATH"},
      {"--secret-file-path", "", K::valued, "SECRET_FILE_PATH",
       "the secrets file (default .secret)"},
      // Taken out before the command (settings.cc take_globals); its env
      // equivalents are read by cmd_build.
      {"--ssh-auth-sock", "", K::valued, "SSH_AUTH_SOCK",
       "the SSH agent socket RUN --ssh uses (default $SSH_AUTH_SOCK)", false, true},
      // Accepted for compatibility with Earthly.
      {"--interactive", "-i", K::boolean, "INTERACTIVE", "", true},
      {"--remote-cache", "", K::valued, "REMOTE_CACHE", "", true},
      {"--cache-from", "", K::valued, "CACHE_FROM", "", true},
      {"--max-remote-cache", "", K::boolean, "MAX_REMOTE_CACHE", "", true},
      {"--use-inline-cache", "", K::boolean, "USE_INLINE_CACHE", "", true},
      {"--save-inline-cache", "", K::boolean, "SAVE_INLINE_CACHE", "", true},
      {"--pull", "", K::boolean, "PULL", "", true},
      {"--auto-skip", "", K::boolean, "AUTO_SKIP", "", true},
      {"--no-auto-skip", "", K::boolean, "", "", true},
      // Earthly's global flags for its BuildKit daemon and git (reference §4.3).
      {"--installation-name", "", K::valued, "INSTALLATION_NAME", "", true, true},

      {"--git-username", "", K::valued, "", "", true, true},
      {"--git-password", "", K::valued, "", "", true, true},
      {"--buildkit-host", "", K::valued, "BUILDKIT_HOST", "", true, true},
      {"--buildkit-image", "", K::valued, "BUILDKIT_IMAGE", "", true, true},
      {"--git-lfs-pull-include", "", K::valued, "", "", true, true},
      {"--version-flag-overrides", "", K::valued, "", "", true, true},
      {"--debug", "-D", K::boolean, "", "", true, true},
      {"--exec-stats", "", K::boolean, "", "", true, true},
      {"--disable-remote-registry-proxy", "", K::boolean, "", "", true, true},
  };
  return table;
}

const FlagSpec* find_build_flag(std::string_view word) {
  for (const auto& f : build_flags())
    if (word == f.name || (!f.short_name.empty() && word == f.short_name)) return &f;
  return nullptr;
}

std::optional<bool> parse_bool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False")
    return false;
  return std::nullopt;
}

namespace {

// Edit distance where swapping two neighbours counts once (optimal string
// alignment): "otu" is one typo away from "out".
size_t typo_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

} // namespace

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t d = typo_distance(word, c);
    if (d < best_d) best = c, best_d = d;
  }
  return best;
}

} // namespace earth::request
