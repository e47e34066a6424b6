#include "earth/cli/commands.h"

#include "earth/base/error.h"

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
    if (!after_dashes && w.size() > 1 && w[0] == '-')
      throw Error("earth " + std::string(command) + ": unknown flag " + w + " (see earth " +
                  std::string(command) + " --help)");
    out.push_back(w);
  }
  words_.clear();
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

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> table = {
      {"ls", "[-a|--args] [-l|--long] [PATH]", "list the targets of an Earthfile", cmd_ls},
      {"doc", "[-l|--long] [PATH[+TARGET]]", "print the documentation of targets", cmd_doc},
      {"debug ast", "[--source-map] [PATH]", "print the parsed Earthfile as JSON", cmd_debug_ast},
      {"graph", "[TARGET] [--format dot|json|text] [--ARG=v...]", "print the resolved target DAG",
       cmd_graph},
      {"debug run", "[flags] IMAGE|--rootfs DIR [--] CMD...", "run one command in a sandbox",
       cmd_debug_run, true},
      {"debug keys", "[flags] +TARGET [--ARG=value...]",
       "build, printing the typed fields of every step key", cmd_debug_keys},
      {"image", "SUBCOMMAND [args]", "manage the local image store (the commands below)",
       cmd_image},
      {"image import", "FILE [NAME]", "load an OCI archive, OCI layout or docker save archive",
       cmd_image_import},
      {"image ls", "[--digests]", "list the images in the local store", cmd_image_ls},
      {"image rm", "NAME...", "remove image names from the local store", cmd_image_rm},
      {"image export", "NAME -o FILE [--format oci|docker]", "write an image archive",
       cmd_image_export},
      {"image pull", "REF", "pull an image from its registry", cmd_image_pull},
      {"image push", "NAME [DEST]", "push an image to its registry (or to DEST)", cmd_image_push},
  };
  return table;
}

} // namespace earth::cli
