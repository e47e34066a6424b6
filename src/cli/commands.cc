#include "earth/cli/commands.h"

#include "earth/base/error.h"
#include "earth/request/flags.h"

namespace earth::cli {

namespace {

bool matches(std::string_view word, std::string_view name, std::string_view short_name) {
  if (word == name) return true;
  return !short_name.empty() && word == short_name;
}

} // namespace

bool Args::flag(std::string_view name, std::string_view short_name) {
  bool found = false;
  for (auto it = words_.begin(); it != words_.end();) {
    if (*it == "--") break;
    if (matches(*it, name, short_name) || *it == std::string(name) + "=true") {
      found = true;
      it = words_.erase(it);
    } else if (*it == std::string(name) + "=false") {
      it = words_.erase(it);
    } else {
      ++it;
    }
  }
  return found;
}

std::string Args::option(std::string_view name, std::string_view short_name) {
  auto all = options(name, short_name);
  return all.empty() ? std::string() : all.back();
}

std::vector<std::string> Args::options(std::string_view name, std::string_view short_name) {
  std::vector<std::string> values;
  std::string prefix = std::string(name) + "=";
  for (size_t i = 0; i < words_.size();) {
    const std::string& w = words_[i];
    if (w == "--") break;
    if (w.starts_with(prefix)) {
      values.push_back(w.substr(prefix.size()));
      words_.erase(words_.begin() + static_cast<long>(i));
    } else if (matches(w, name, short_name)) {
      if (i + 1 >= words_.size()) throw Error(std::string(name) + " needs a value");
      values.push_back(words_[i + 1]);
      words_.erase(words_.begin() + static_cast<long>(i),
                   words_.begin() + static_cast<long>(i) + 2);
    } else {
      ++i;
    }
  }
  return values;
}

std::vector<std::string> Args::positional(std::string_view command) {
  std::vector<std::string> out;
  bool after_dashes = false;
  for (const auto& w : words_) {
    if (!after_dashes && w == "--") {
      after_dashes = true;
      continue;
    }
    if (!after_dashes && w.size() > 1 && w[0] == '-') {
      std::string best = request::closest(w.substr(0, w.find('=')), known_);
      throw Error("earth " + std::string(command) + ": unknown flag " + w +
                  (best.empty() ? "" : "; did you mean " + best + "?") + " (see earth " +
                  std::string(command) + " --help)");
    }
    out.push_back(w);
  }
  words_.clear();
  return out;
}

std::vector<std::string> flags_in_usage(std::string_view usage) {
  std::vector<std::string> out;
  for (size_t i = 0; i < usage.size(); ++i) {
    bool starts = i == 0 || usage[i - 1] == '[' || usage[i - 1] == '|' || usage[i - 1] == ' ';
    if (usage[i] != '-' || !starts) continue;
    size_t end = usage.find_first_of(" |]", i);
    std::string f(usage.substr(i, end == std::string_view::npos ? end : end - i));
    if (f.size() > 1 && f != "--") out.push_back(f);
    i = end == std::string_view::npos ? usage.size() : end;
  }
  return out;
}

void fail_in_group(std::string_view group, Args& args) {
  std::string known;
  std::string prefix = std::string(group) + " ";
  for (const auto& c : subcommands())
    if (c.path.starts_with(prefix))
      known += (known.empty() ? "" : ", ") + std::string(c.path.substr(prefix.size()));
  std::vector<std::string> words = args.rest();
  std::string what = words.empty()               ? "a subcommand is missing"
                     : words[0].starts_with("-") ? "unknown flag " + words[0]
                                                 : "unknown subcommand '" + words[0] + "'";
  throw Error("earth " + std::string(group) + ": " + what + " (subcommands: " + known +
              "; see earth --help)");
}

namespace {

bool g_work_started = false;

} // namespace

void start_work() {
  g_work_started = true;
}
bool work_started() {
  return g_work_started;
}

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> table = {
      {"ls", "[-a|--args] [-l|--long] [PATH]", "list the targets of an Earthfile", cmd_ls,
       "  earth ls                 the targets of ./Earthfile\n"
       "  earth ls -a ./services   with their ARGs\n"},
      {"doc", "[-l|--long] [PATH[+TARGET]]", "print the documentation of targets", cmd_doc,
       "  earth doc                the documented targets of ./Earthfile\n"
       "  earth doc -l +build      one target, with its ARGs, artifacts and images\n"},
      {"debug ast", "[--source-map] [PATH]", "print the parsed Earthfile as JSON", cmd_debug_ast,
       "  earth debug ast --source-map | jq .\n"},
      {"graph", "[TARGET] [--format dot|json|text] [--ARG=v...]", "print the resolved target DAG",
       cmd_graph, "  earth graph +all | dot -Tsvg >graph.svg\n  earth graph --format text\n"},
      {"debug run", "[flags] IMAGE|--rootfs DIR [--] CMD...", "run one command in a sandbox",
       cmd_debug_run, "  earth debug run busybox -- echo hi\n", true, true},
      {"debug keys", "[flags] +TARGET [--ARG=value...]",
       "build, printing the typed fields of every step key", cmd_debug_keys,
       "  earth debug keys +build > keys-before.txt\n", false, true},
      {"image", "SUBCOMMAND [args]", "manage the local image store (the commands below)",
       cmd_image},
      {"image import", "FILE [NAME]", "load an OCI archive, OCI layout or docker save archive",
       cmd_image_import, "  earth image import busybox.tar busybox:latest\n", false, true},
      {"image ls",
       "[--digests]",
       "list the images in the local store",
       cmd_image_ls,
       {},
       false,
       true},
      {"image rm",
       "NAME...",
       "remove image names from the local store",
       cmd_image_rm,
       {},
       false,
       true},
      {"image export", "NAME -o FILE [--format oci|docker]", "write an image archive",
       cmd_image_export, "  earth image export myapp:latest -o myapp.tar --format docker\n", false,
       true},
      {"image pull", "REF", "pull an image from its registry", cmd_image_pull,
       "  earth image pull debian:bookworm-slim\n", false, true},
      {"image push", "NAME [DEST]", "push an image to its registry (or to DEST)", cmd_image_push,
       "  earth image push myapp:latest registry.example.com/myapp:1.0\n", false, true},
      {"prune", "[--all] [--keep-bytes N] [--keep-duration D]",
       "remove least recently used cache entries", cmd_prune,
       "  earth prune --keep-bytes 5GB\n  earth prune --keep-duration 168h\n  earth prune --all\n",
       false, true},
      {"config", "KEY VALUE [--dry-run] [--config PATH]",
       "set a key of the config file, keeping its comments", cmd_config,
       "  earth config global.jobs 4\n"
       "  earth config global.cache_dir /var/cache/earth\n"
       "  earth config registries.docker.io.mirrors '[mirror.gcr.io]'\n"
       "  earth config --dry-run global.secret_provider 'pass show'\n"},
      {"__complete",
       "WORDS...",
       "the shell completion candidates of the last word",
       cmd_complete,
       {},
       true},
  };
  return table;
}

} // namespace earth::cli
